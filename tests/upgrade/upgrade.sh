#!/usr/bin/env bash
# ALTER EXTENSION pg_backout UPDATE from every released version gives exactly a fresh installation:
# install each old version's script (kept here as released), update, and compare every extension object
# (tests/upgrade/catalog.sql) with a database where the current version was created directly.  Usage written
# before the update (usage.sql) is counted in the day counts after it (counts.sql).
# Runs inside a throwaway cluster (scripts/test.sh uses run_in_cluster).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
extdir="$(${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config} --sharedir)/extension"
listing() { psql -X -At -v ON_ERROR_STOP=1 -d "$1" -f catalog.sql; }
createdb upgrade_fresh
psql -X -q -v ON_ERROR_STOP=1 -d upgrade_fresh -c "CREATE EXTENSION pg_backout"
listing upgrade_fresh > /tmp/pg_backout_fresh.txt
current="$(psql -X -At -d upgrade_fresh -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_backout'")"
for old in pg_backout--*.sql; do
  version="${old#pg_backout--}"; version="${version%.sql}"
  cp "$old" "$extdir/$old"
  db="upgrade_from_${version//./_}"
  createdb "$db"
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION pg_backout VERSION '$version'" -f usage.sql \
                                         -c "ALTER EXTENSION pg_backout UPDATE" -f counts.sql
  got="$(psql -X -At -d "$db" -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_backout'")"
  [ "$got" = "$current" ] || { echo "FAIL: $version updated to $got, not $current"; exit 1; }
  listing "$db" > "/tmp/pg_backout_from_$version.txt"
  if ! diff -u /tmp/pg_backout_fresh.txt "/tmp/pg_backout_from_$version.txt"; then
    echo "FAIL: updating from $version does not give a fresh $current installation"; exit 1
  fi
  rm -f "$extdir/$old"
  echo "ok: $version -> $current ($(wc -l < /tmp/pg_backout_fresh.txt) catalog lines identical)"
done
