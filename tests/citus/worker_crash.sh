#!/usr/bin/env bash
# A worker stopped (immediate shutdown: as a crash) in the middle of a batch of one of its clients, then
# started again: the batch ends COMPLETED or ERROR, all or nothing, and the worker's own runner finishes it.
# Also: the end of a batch is announced (NOTIFY pg_backout_batch) on the client's worker.
# Run by tests/citus/run.sh on its cluster (CITUS_DIR).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
cluster="bash tests/citus/cluster.sh"
q() { local port=$1; shift; $cluster psql "$port" -At -v ON_ERROR_STOP=1 "$@"; }
fail() { echo "FAIL: $*"; exit 1; }
as_pg() { if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi; }

client="$(q 9700 -c "SELECT min(c) FROM generate_series(6001, 6100) c
                     WHERE get_shard_id_for_distribution_column('backout.client', c) IN
                           (SELECT shardid FROM pg_dist_placement JOIN pg_dist_node USING (groupid) WHERE nodeport = 9701)")"
q 9700 -q <<SQL
SET client_min_messages = warning;
INSERT INTO backout.client (client_id, name) VALUES ($client, 'crash');
INSERT INTO backout.account SELECT $client, a, 'A-' || a FROM generate_series(1, 50) a;
INSERT INTO backout.billing_profile (client_id, acct_no, last_bill_date, next_bill_date)
SELECT $client, a, '2026-03-01', '2026-04-01' FROM generate_series(1, 50) a;
INSERT INTO backout.usage_type VALUES ($client, 10, 'CALL', 'Calls', 'minute');
INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price) VALUES ($client, 10, NULL, 0.10);
SELECT status FROM backout.process_usage_file($client, 'big.json',
    (SELECT jsonb_agg(jsonb_build_object('acct_no', 1 + i % 50, 'usage_type_code', 'CALL',
                                         'usage_date', '2026-03-10 10:00:00', 'units', 1))
     FROM generate_series(1, 20000) i));
SELECT status FROM backout.run_billing($client, '2026-04-01');
SQL
invoices="$(q 9700 -c "SELECT count(*) FROM backout.invoice WHERE client_id = $client")"
[ "$invoices" = 50 ] || fail "the crash client has $invoices invoices, not 50"

# Hold a billing pointer of the client on its worker, so that the undo stops in the middle (it has claimed the
# batch, counted the attempt and started reversing; it waits for that row), then stop the worker.
as_pg bash -c "echo \"BEGIN; SELECT 1 FROM backout.billing_profile WHERE client_id = $client AND acct_no = 50 FOR UPDATE; SELECT pg_sleep(60);\" | /usr/lib/postgresql/15/bin/psql -X -h $CITUS_DIR -p 9701 -d billing >/dev/null 2>&1" &
holder=$!
sleep 1
batch="$(q 9700 -c "SELECT undo_batch_id FROM backout.undo_job_schedule('2026-04-01', $client, discard_usage => true, user_id => 'crash')")"
for _ in $(seq 1 100); do
  waiting="$(q 9701 -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'pg_backout runner%' AND wait_event_type = 'Lock'")"
  [ "$waiting" -ge 1 ] && break
  sleep 0.2
done
[ "$waiting" -ge 1 ] || fail "the undo's runner never waited on the held row"
attempts="$(q 9701 -c "SELECT run_attempts FROM backout.undo_batch WHERE client_id = $client AND undo_batch_id = '$batch'")"
echo "ok: undo $batch of client $client is running on worker 9701 (attempt $attempts), waiting in the middle"
as_pg /usr/lib/postgresql/15/bin/pg_ctl -D "$CITUS_DIR/9701" stop -m immediate >/dev/null
kill "$holder" 2>/dev/null || true
as_pg /usr/lib/postgresql/15/bin/pg_ctl -D "$CITUS_DIR/9701" -l "$CITUS_DIR/9701.log" start -w >/dev/null
echo "ok: worker 9701 stopped (immediate) and started again"
status="$(q 9700 -c "SELECT backout.wait_for_batch('$batch', '90 seconds')")"
case "$status" in COMPLETED|ERROR) ;; *) fail "after the crash the undo is $status";; esac
left="$(q 9700 -c "SELECT (SELECT count(*) FROM backout.invoice WHERE client_id = $client) || ' ' ||
                          (SELECT count(*) FROM backout.usage_txn WHERE client_id = $client)")"
if [ "$status" = COMPLETED ]; then [ "$left" = "0 0" ] || fail "COMPLETED but invoices and usage left: $left"
else [ "$left" = "50 20000" ] || fail "ERROR but not all of the run is there: $left"; fi
echo "ok: after the crash the undo ended $status, all or nothing (invoices and usage left: $left)"
drift="$(q 9700 -c "SELECT count(*) FROM backout.check_usage_day_counts($client)")"
[ "$drift" = 0 ] || fail "day counts drifted by $drift keys"
echo "ok: the day counts of client $client are exact"

# NOTIFY: a second client's batch ends while a listener waits on the client's worker
q 9700 -q -c "SELECT status FROM backout.process_usage_file($client, 'again.json', '[{\"acct_no\": 1, \"usage_type_code\": \"CALL\", \"usage_date\": \"2026-03-11 10:00:00\", \"units\": 1}]')" >/dev/null
as_pg bash -c "echo 'LISTEN pg_backout_batch; SELECT pg_sleep(8);' | /usr/lib/postgresql/15/bin/psql -X -h $CITUS_DIR -p 9701 -d billing > /tmp/pg_backout_citus_listen.log 2>&1" &
listener=$!
sleep 1
batch2="$(q 9700 -c "SELECT backout_batch_id FROM backout.backout_usage_file_transactions('again.json', $client, 'crash')")"
[ "$(q 9700 -c "SELECT backout.wait_for_batch('$batch2', '60 seconds')")" = COMPLETED ] || fail "backout after the crash"
wait "$listener" || true
grep -q "$batch2" /tmp/pg_backout_citus_listen.log || { cat /tmp/pg_backout_citus_listen.log; fail "no NOTIFY on the client's worker"; }
echo "ok: a LISTEN on the client's worker received the end of backout $batch2"
