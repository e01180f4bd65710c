#!/usr/bin/env bash
# Run every test of pg_backout against a real PostgreSQL 15:
#   1. Rust-level tests (#[pg_test]) with cargo pgrx test, as the postgres user;
#   2. the pg_regress suite (tests/pg_regress) against the installed extension in a throwaway cluster;
#   3. the isolation suite (tests/isolation) the same way;
#   4. crash and restart tests of the background machinery (tests/crash/restart.sh);
#   5. privileges with separate logins (tests/privileges/logins.sh);
#   6. ALTER EXTENSION UPDATE from every released version equals a fresh install (tests/upgrade);
#   7. backups: pg_dump and pg_restore keep every row (tests/backup);
#   8. the plan guard: no statement of ingest, billing or undo on stale statistics walks rows it does not
#      need (tests/plans);
#   9. the demo (demo/demo.sql), which ends by comparing its invoices with a clean run's;
#  10. the Citus suite (tests/citus/run.sh): a coordinator and two workers on localhost, backout.distribute(),
#      the demo and the scenarios across clients on different workers, a worker crash in a batch.  Installs
#      Citus from ../shared/citus when it is missing; says SKIPPED (and passes) when it cannot.
# Exits non-zero on the first failing stage.  Sets the machine up first (scripts/setup.sh).
. "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"

out="$here/target/test-output"
rm -rf "$out" && mkdir -p "$out/pg_regress" "$out/isolation"
chmod a+rx "$here" "$here/target" "$out" 2>/dev/null || true

echo "== cargo pgrx test"
pgdata="$(mktemp -d /tmp/pg_backout-pgdata.XXXXXX)"
chown postgres "$pgdata"
cargo pgrx test pg15 --runas postgres --pgdata "$pgdata"
rm -rf "$pgdata"

echo "== install (release build) for the SQL-level suites"
cargo pgrx install --release --pg-config "$PG_CONFIG" >/dev/null


echo "== pg_regress"
run_in_cluster "$PGXS_DIR/src/test/regress/pg_regress" \
  --inputdir=tests/pg_regress --outputdir="$out/pg_regress" \
  --dbname=pg_backout_regress --schedule=tests/pg_regress/schedule \
  || { cat "$out/pg_regress/regression.diffs" 2>/dev/null; exit 1; }

echo "== isolation"
run_in_cluster "$PGXS_DIR/src/test/isolation/pg_isolation_regress" \
  --inputdir=tests/isolation --outputdir="$out/isolation" \
  --dbname=pg_backout_isolation --schedule=tests/isolation/schedule \
  || { cat "$out/isolation/regression.diffs" 2>/dev/null; exit 1; }

echo "== crash and restart (tests/crash)"
run_in_cluster bash tests/crash/restart.sh > "$out/crash.log" 2>&1 \
  || { cat "$out/crash.log"; exit 1; }
grep -v '^20..-' "$out/crash.log"

echo "== privileges with separate logins (tests/privileges)"
run_in_cluster bash tests/privileges/logins.sh > "$out/logins.log" 2>&1 \
  || { cat "$out/logins.log"; exit 1; }
grep -v '^20..-' "$out/logins.log"

echo "== upgrade (tests/upgrade)"
run_in_cluster bash tests/upgrade/upgrade.sh

echo "== backups (tests/backup)"
run_in_cluster bash tests/backup/dump_restore.sh > "$out/backup.log" 2>&1 \
  || { cat "$out/backup.log"; exit 1; }
grep -v '^20..-' "$out/backup.log"

echo "== plan guard (tests/plans)"
run_in_cluster bash tests/plans/guard.sh > "$out/plans.log" 2>&1 \
  || { cat "$out/plans.log"; exit 1; }
grep -v '^20..-' "$out/plans.log"

echo "== demo (demo/demo.sql: fails unless its invoices equal the clean run's)"
run_in_cluster psql -X -q -v ON_ERROR_STOP=1 -f demo/demo.sql > "$out/demo.log" 2>&1 \
  || { cat "$out/demo.log"; exit 1; }
grep "equal the clean run's" "$out/demo.log"

echo "== citus (tests/citus: coordinator + 2 workers)"
bash tests/citus/run.sh > "$out/citus.log" 2>&1 \
  || { grep -av "^\s*[0-9]*: \|^\s*at \|NOTICE\|DETAIL\|WARNING" "$out/citus.log" | tail -60; exit 1; }
grep -aE "^(ok|SKIPPED|==|-- )" "$out/citus.log"

echo "== all tests passed"
