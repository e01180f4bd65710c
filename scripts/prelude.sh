# Sourced by the scripts/*.sh entry points: strict mode, repository root as working directory, shared
# settings, the throwaway-cluster helper, and a set-up machine (scripts/setup.sh is idempotent).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
. pgrx-config/env.sh
. scripts/cluster.sh
bash scripts/setup.sh
