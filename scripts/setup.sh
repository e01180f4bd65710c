#!/usr/bin/env bash
# Prepare a fresh Debian machine (Rust toolchain + PostgreSQL 15 already present) to build and test pg_backout.
# Idempotent: every step is skipped when its result is already there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../pgrx-config/env.sh
. "$here/pgrx-config/env.sh"

apt_packages=(postgresql-server-dev-15 libclang-dev clang sudo libipc-run-perl)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "$(cargo pgrx --version 2>/dev/null | awk '{print $2}')" != "$PGRX_VERSION" ]; then
  echo "setup: installing cargo-pgrx $PGRX_VERSION"
  cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
fi

if ! grep -qs "pg15 = \"$PG_CONFIG\"" "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
  echo "setup: cargo pgrx init --pg15=$PG_CONFIG"
  cargo pgrx init --pg15="$PG_CONFIG"
fi
echo "setup: ready (cargo-pgrx $PGRX_VERSION, $PG_CONFIG)"
