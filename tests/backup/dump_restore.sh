#!/usr/bin/env bash
# Backups hold the billing data (SPEC §5): a database with every kind of row (fixture.sql), dumped plain and
# custom (-Fc), restored into fresh databases with psql, pg_restore and pg_restore --jobs 2 (the README's
# recipe), and data-only
# into a fresh installation, equals the original table by table, row by row, day counts exact; then on a
# restored copy the waiting batch runs, and ingest, billing, an undo and a backout work.
# Runs inside a throwaway cluster (scripts/test.sh uses run_in_cluster).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
work="$(mktemp -d /tmp/pg_backout-backup.XXXXXX)"
chmod a+rwx "$work"
trap 'rm -rf "$work"' EXIT
sql() { local db="$1"; shift; psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }

# Every row of every table of the schema, one digest line per table (digest.sql).
digest() { sql "$1" -f digest.sql; }

createdb backup_src
sql backup_src -f fixture.sql > /dev/null
sql backup_src -c "SELECT count(*) FROM backout.undo_batch WHERE status = 'PROCESSING'" | grep -qx 1 \
  || fail "the fixture has no waiting batch"
digest backup_src > "$work/src.txt"
# every table has rows, but the zero-count kinds a fixture cannot make (cancellations, file claims after the
# backouts completed)
empty="$(awk '$2 == 0 {print $1}' "$work/src.txt" | tr '\n' ' ')"
[ "$empty" = "backout_file_claim batch_cancel " ] || fail "fixture tables without rows: $empty"

pg_dump -d backup_src -f "$work/plain.sql"
pg_dump -d backup_src -Fc -f "$work/custom.dump"
grep -q '^COPY backout.usage_txn ' "$work/plain.sql" || fail "the plain dump has no usage rows"
pg_dump -d backup_src -t backout.usage_txn -f "$work/table.sql"
grep -q '^COPY backout.usage_txn ' "$work/table.sql" || fail "pg_dump -t backout.usage_txn has no rows"
pg_dump -d backup_src -a -n backout -f "$work/schema-data.sql"
grep -q '^COPY backout.invoice ' "$work/schema-data.sql" || fail "pg_dump -a -n backout has no invoices"

createdb backup_plain && sql backup_plain -f "$work/plain.sql" > /dev/null
createdb backup_custom && pg_restore -d backup_custom "$work/custom.dump"
# In parallel (the README's recipe): PostgreSQL would load an extension's tables in parallel although their
# foreign keys exist already, so pg_backout's data goes first, in one session, in dependency order.
createdb backup_jobs
pg_restore --section=pre-data -d backup_jobs "$work/custom.dump"
pg_restore --section=data -n backout -d backup_jobs "$work/custom.dump"
pg_restore --jobs 2 --section=data -N backout -d backup_jobs "$work/custom.dump"
pg_restore --jobs 2 --section=post-data -d backup_jobs "$work/custom.dump"
# data-only into a fresh installation, triggers disabled (so the day counts are rebuilt by hand)
createdb backup_data_only
sql backup_data_only -c "CREATE EXTENSION pg_backout"
pg_dump -d backup_src -a -Fc -f "$work/data.dump"
pg_restore -a --disable-triggers -d backup_data_only "$work/data.dump"
sql backup_data_only -c "SELECT count(*) FROM backout.client c, backout.check_usage_day_counts(c.client_id)" | grep -qvx 0 \
  || fail "a data-only restore without triggers should leave the day counts to rebuild"
sql backup_data_only -c "SELECT sum(backout.rebuild_usage_day_counts(client_id)) FROM backout.client" > /dev/null

for db in backup_plain backup_custom backup_jobs backup_data_only; do
  digest "$db" > "$work/$db.txt"
  diff -u "$work/src.txt" "$work/$db.txt" || fail "$db differs from the original"
  echo "ok: $db equals the original ($(wc -l < "$work/src.txt") tables, $(awk '{s += $2} END {print s}' "$work/src.txt") rows)"
done

# the restored copy works: the waiting batch runs, ids continue, billing, undo and backout run
last_txn_id="$(sql backup_src -c "SELECT last_value FROM backout.usage_txn_txn_id_seq")"
sql backup_custom -v last_txn_id="$last_txn_id" > "$work/after.txt" <<'SQL'
SET datestyle = 'ISO, YMD';
SET pg_backout.start_runners = off;
CALL backout.run_pending_batches();
SELECT 'waiting undo ' || status FROM backout.undo_batch WHERE discard_usage;
SELECT 'ingest ' || status || ' ' || records_processed FROM backout.process_usage_file(1, 'april.json',
    '[{"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-29 10:00:00", "units": 10},
      {"acct_no": 2, "usage_type_code": "SMS", "usage_date": "2026-03-29 11:00:00", "units": 2}]');
SELECT 'new ids after the old ' || bool_and(t.txn_id > :last_txn_id) FROM backout.usage_txn t WHERE file_name = 'april.json';
SELECT 'billing ' || status || ' ' || accounts_billed FROM backout.run_billing(1, '2026-04-01');
SELECT 'undo ' || status FROM backout.undo_job_schedule('2026-04-01', 1);
CALL backout.run_pending_batches();
SELECT 'undone ' || status FROM backout.undo_batch ORDER BY create_date DESC LIMIT 1;
SELECT 'backout ' || status FROM backout.backout_usage_file_transactions('april.json', 1, 'ops');
CALL backout.run_pending_batches();
SELECT 'backed out ' || status || ' ' || transactions_deleted FROM backout.backout_batch WHERE file_names = 'april.json';
SELECT 'day counts exact ' || (count(*) = 0) FROM backout.client c, backout.check_usage_day_counts(c.client_id);
SQL
expected="1
waiting undo COMPLETED
ingest COMPLETED 2
new ids after the old true
billing COMPLETED 3
undo PROCESSING
1
undone COMPLETED
backout PROCESSING
1
backed out COMPLETED 2
day counts exact true"
diff -u <(echo "$expected") "$work/after.txt" || fail "the restored database does not work as the original"
echo "ok: on the restored copy the waiting batch ran, ingest, billing, undo and backout work"
