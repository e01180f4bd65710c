#!/usr/bin/env bash
# Crash and restart tests of the batch machinery, run inside a throwaway cluster (scripts/test.sh runs it
# through run_in_cluster: pg_backout preloaded, pg_backout.database = pg_backout_regress).
#  1. the launcher waits politely while the database and the extension do not exist;
#  2. a runner killed (SIGKILL: the postmaster's crash recovery) in the middle of an undo, and a server
#     stopped with -m immediate in the middle of one: the batch ends COMPLETED and fully applied, never half;
#     the same for a runner killed in the middle of a backout with undo_billing, and of a reset of lines;
#  3. completion is announced on channel pg_backout_batch;
#  4. the engine's failure handling: a runner killed max_attempts times ends the batch ERROR (nothing
#     applied), a lock timeout is retried to completion, cancel_batch rolls a running batch back (CANCELLED
#     on its first attempt), a runaway batch ends BATCH_TIMEOUT and holds no lock;
#  5. a streaming hot standby answers the status functions, wait_for_batch and the preview; a database
#     where no runner can start tells its caller so once;
#  6. a terminated launcher is started again; DROP DATABASE of the served database is not blocked.
set -euo pipefail
db=pg_backout_regress
cluster="${PG_MAJOR:-15} regress"
fail() { echo "FAIL: $*" >&2; exit 1; }
q() { psql -X -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
qpg() { psql -X -At -v ON_ERROR_STOP=1 -d postgres -c "$1"; }
log_file() { ls -t /var/log/postgresql/postgresql-*-regress.log | head -n1; }
wait_for() {  # wait_for SECONDS SQL: until SQL (in postgres db) returns t
  local deadline=$((SECONDS + $1))
  until [ "$(qpg "$2" 2>/dev/null)" = t ]; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}
launcher_pid() { qpg "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_backout launcher'"; }

echo "-- 1. no database, then no extension: the launcher waits, nothing fails"
wait_for 10 "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_backout launcher'" \
  || fail "launcher not running"
sleep 3
createdb "$db"
sleep 3
if grep -E "FATAL|ERROR" "$(log_file)" | grep -qi "backout"; then
  grep -E "FATAL|ERROR" "$(log_file)" | grep -i backout >&2; fail "the launcher or a runner failed while waiting"
fi
echo ok

echo "-- 2. set up a billed client"
q "CREATE EXTENSION pg_backout" >/dev/null
# client N: 200 accounts with a commitment each, 5,000 records of March ingested at 0.5
client_with_usage() {
  psql -X -q -v ON_ERROR_STOP=1 -v c="$1" -d "$db" <<'SQL'
INSERT INTO backout.client (client_id, name) VALUES (:c, 'crash ' || :c);
INSERT INTO backout.account SELECT :c, a, 'A' || a FROM generate_series(1, 200) a;
INSERT INTO backout.billing_profile SELECT :c, a, '2026-03-01', '2026-04-01' FROM generate_series(1, 200) a;
INSERT INTO backout.usage_type VALUES (:c, 10, 'CALL', 'Calls', 'minute');
INSERT INTO backout.price_offer (client_id, usage_type_no, unit_price) VALUES (:c, 10, 0.5);
INSERT INTO backout.commitment_contract SELECT :c, a, '2026-03-01', '2026-04-01', 'AMOUNT', 100, NULL FROM generate_series(1, 200) a;
SELECT status FROM backout.process_usage_file(:c, 'march.json',
    (SELECT jsonb_agg(jsonb_build_object('acct_no', 1 + n % 200, 'usage_type_code', 'CALL',
                                         'usage_date', '2026-03-10 10:00:00', 'units', 1 + n % 7))
     FROM generate_series(1, 5000) n));
SQL
}
client_with_usage 1
q "SELECT status FROM backout.run_billing(1, '2026-04-01')" >/dev/null
billed_state="SELECT (SELECT count(*) FROM backout.billing_record WHERE client_id = 1) || '/' ||
                     (SELECT count(*) FROM backout.usage_txn WHERE client_id = 1 AND billing_batch_id IS NOT NULL) || '/' ||
                     (SELECT count(*) FROM backout.billing_profile WHERE client_id = 1 AND next_bill_date = '2026-05-01') || '/' ||
                     (SELECT count(*) FROM backout.commitment_balance WHERE client_id = 1 AND true_up_batch_id IS NOT NULL) || '/' ||
                     (SELECT count(*) FROM backout.job_schedule WHERE client_id = 1)"
before="$(q "$billed_state")"
[ "$before" = "400/5000/200/200/1" ] || fail "unexpected billed state $before"

# Hold a row the batch updates late (account 200's pointers), submit, and wait until the runner is blocked
# there with the usage already unbilled (uncommitted): the moment to crash.
submit_undo="SELECT undo_batch_id FROM backout.undo_job_schedule('2026-04-01', 1)"
submit_backout="SELECT backout_batch_id FROM backout.backout_usage_file_transactions('march.json', 1, 'crash', true)"
crash_mid_batch() {  # crash_mid_batch HOW SUBMIT_SQL [ROW_TO_HOLD]
  local hold="${3:-backout.billing_profile WHERE client_id = 1 AND acct_no = 200}"
  psql -X -q -d "$db" -c "BEGIN; SELECT 1 FROM $hold FOR UPDATE; SELECT pg_sleep(120);" \
    >/dev/null 2>&1 &
  local blocker=$!
  sleep 0.5
  batch="$(q "$2")"
  wait_for 20 "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_backout runner' AND wait_event_type = 'Lock'" \
    || fail "the runner did not reach the blocked row"
  case "$1" in
    kill) kill -9 "$(qpg "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_backout runner'")" ;;
    immediate) pg_ctlcluster $cluster stop -m immediate; pg_ctlcluster $cluster start ;;
  esac
  wait "$blocker" 2>/dev/null || true
  wait_for 60 "SELECT true" || fail "server did not come back"
  echo "crashed ($1) during batch $batch"
}

check_done() {  # check_done STATUS_FUNCTION STATE_SQL EXPECTED_STATE [CLIENT]
  local deadline=$((SECONDS + 60)) status
  until status="$(q "SELECT status FROM backout.$1('$batch', ${4:-1})" 2>/dev/null)" \
        && [ "$status" != PROCESSING ] && [ -n "$status" ]; do
    [ $SECONDS -lt $deadline ] || fail "batch $batch still $status after restart"
    sleep 0.2
  done
  [ "$status" = COMPLETED ] || fail "batch $batch ended $status"
  local after
  after="$(q "$2")"
  [ "$after" = "$3" ] || fail "after batch $batch the state is $after (expected $3)"
  echo "batch $batch COMPLETED after restart, fully applied"
}
check_undone() { check_done get_undo_job_schedule_status "$billed_state" "0/0/0/0/0"; }

echo "-- 3. SIGKILL of the runner in the middle of an undo"
crash_mid_batch kill "$submit_undo"
check_undone

echo "-- 4. immediate shutdown in the middle of an undo"
q "SELECT status FROM backout.run_billing(1, '2026-04-01')" >/dev/null
[ "$(q "$billed_state")" = "$before" ] || fail "re-run did not bill the same"
crash_mid_batch immediate "$submit_undo"
check_undone

echo "-- 4b. SIGKILL of the runner in the middle of a backout with undo_billing"
q "SELECT status FROM backout.run_billing(1, '2026-04-01')" >/dev/null
[ "$(q "$billed_state")" = "$before" ] || fail "re-run did not bill the same"
crash_mid_batch kill "$submit_backout"
# billing reversed, the file's usage, stats row, balance buckets and the batch's file claim gone
check_done get_usage_file_txns_backout_status \
  "$billed_state || '/' || (SELECT count(*) FROM backout.usage_txn) || '/' || (SELECT count(*) FROM backout.usage_file)
   || '/' || (SELECT count(*) FROM backout.commitment_balance) || '/' || (SELECT count(*) FROM backout.backout_file_claim)" \
  "0/0/0/0/0/0/0/0/0"

echo "-- 4c. SIGKILL of the runner in the middle of a reset of lines (BillRun): 5,000 lines re-rated"
client_with_usage 2
q "UPDATE backout.price_offer SET unit_price = 1 WHERE client_id = 2" >/dev/null
# held: account 200's bucket, which the reset updates last (buckets in account order), its lines already re-rated
crash_mid_batch kill "SELECT backout.reset_lines(2, (SELECT string_agg(a::text, ',') FROM generate_series(1, 200) a)) ->> 'reset_batch_id'" \
  "backout.commitment_balance WHERE client_id = 2 AND acct_no = 200"
# every line re-rated once, every bucket moved once: the balances equal the lines' amounts
check_done get_reset_lines_status \
  "SELECT (SELECT count(*) FROM backout.usage_txn WHERE client_id = 2 AND unit_price = 1) || '/' ||
   (SELECT sum(consumed_amount) = (SELECT sum(amount) FROM backout.usage_txn WHERE client_id = 2) FROM backout.commitment_balance WHERE client_id = 2) || '/' ||
   (SELECT lines_reset FROM backout.reset_batch WHERE client_id = 2)" \
  "5000/true/5000" 2

echo "-- 5. completion is announced on pg_backout_batch"
q "SELECT status FROM backout.run_billing(1, '2026-04-01')" >/dev/null
notified="$(psql -X -At -d "$db" <<'SQL'
LISTEN pg_backout_batch;
SELECT undo_batch_id FROM backout.undo_job_schedule('2026-04-01', 1) \gset
SELECT backout.wait_for_batch(:'undo_batch_id', '60 seconds');
SELECT 1;
SQL
)"
echo "$notified" | grep -q 'Asynchronous notification "pg_backout_batch" with payload "{"batch_id" : "[0-9a-f-]*", "status" : "COMPLETED"}"' \
  || { echo "$notified" >&2; fail "no notification"; }
echo ok

# The engine's failure handling, with a session holding the row the batch updates late.
hold_row() {  # hold_row SECONDS: hold account 200's pointers of client 1 for that long (or until released)
  PGAPPNAME=crash_blocker psql -X -q -d "$db" \
    -c "BEGIN; SELECT 1 FROM backout.billing_profile WHERE client_id = 1 AND acct_no = 200 FOR UPDATE; SELECT pg_sleep($1);" \
    >/dev/null 2>&1 &
  sleep 0.5
}
release_row() { qpg "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'crash_blocker'" >/dev/null; }
runner_blocked() { wait_for "$1" "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_backout runner' AND wait_event_type = 'Lock'"; }
set_conf() { qpg "ALTER SYSTEM SET $1 = '$2'" >/dev/null; qpg "SELECT pg_reload_conf()" >/dev/null; sleep 0.5; }
final_status() {  # final_status BATCH: wait until it leaves PROCESSING; print status|code|attempts|message
  local deadline=$((SECONDS + 90)) st
  until st="$(q "SELECT status FROM backout.undo_batch WHERE undo_batch_id = '$1'")" && [ "$st" != PROCESSING ]; do
    [ $SECONDS -lt $deadline ] || fail "batch $1 still PROCESSING"
    sleep 0.2
  done
  q "SELECT status || '|' || coalesce(error_code, '') || '|' || run_attempts || '|' || coalesce(error_message, '') FROM backout.undo_batch WHERE undo_batch_id = '$1'"
}

echo "-- 5b. a runner killed (SIGTERM) max_attempts times: the batch ends ERROR, nothing applied"
q "SELECT status FROM backout.run_billing(1, '2026-04-01')" >/dev/null
before="$(q "$billed_state")"  # march.json is backed out: true-ups only from here on
hold_row 300
batch="$(q "$submit_undo")"
for attempt in 1 2 3; do
  runner_blocked 30 || fail "attempt $attempt: the runner did not reach the blocked row"
  killed="$(qpg "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE backend_type = 'pg_backout runner'")"
  qpg "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN ($killed)" >/dev/null
  # the killed runner gone (the next attempt's runner may already be there: not a runner count of 0)
  wait_for 10 "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid IN ($killed)" || fail "runner still there"
done
got="$(final_status "$batch")"
release_row
case "$got" in
  "ERROR|SYSTEM_ERROR|4|gave up after 3 attempts"*) echo "ended after 3 attempts: ${got##*|}" ;;
  *) fail "after 3 killed runs: $got" ;;
esac
[ "$(q "$billed_state")" = "$before" ] || fail "a killed batch left changes behind"

echo "-- 5c. a lock timeout is retried, and the batch completes once the lock is free"
set_conf pg_backout.lock_timeout 1s
set_conf pg_backout.max_attempts 6
hold_row 2.5
batch="$(q "$submit_undo")"
got="$(final_status "$batch")"
case "$got" in
  COMPLETED*) attempts="$(echo "$got" | cut -d'|' -f3)"; [ "$attempts" -ge 2 ] || fail "completed without a retry: $got"
              echo "completed on attempt $attempts; retried after: $(q "SELECT last_error || ' (' || error_sqlstate || ')' FROM backout.undo_batch WHERE undo_batch_id = '$batch'")" ;;
  *) fail "lock timeout not retried to completion: $got" ;;
esac
[ "$(q "$billed_state")" = "0/0/0/0/0" ] || fail "the retried undo is not fully applied"
retried_batch="$batch"

echo "-- 5d. cancel_batch of a running batch: rolled back, ERROR / CANCELLED"
set_conf pg_backout.lock_timeout 60s
q "SELECT status FROM backout.run_billing(1, '2026-04-01')" >/dev/null
hold_row 300
batch="$(q "$submit_undo")"
runner_blocked 30 || fail "the runner did not reach the blocked row"
q "SELECT status || ' ' || error_code FROM backout.cancel_batch('$batch', 1)"
got="$(final_status "$batch")"
release_row
case "$got" in
  "ERROR|CANCELLED|1|cancelled by backout.cancel_batch while it ran"*) echo "cancelled on its first attempt: ${got##*|}" ;;
  *) fail "cancel of a running batch (must end CANCELLED on its first attempt, not be retried): $got" ;;
esac
[ "$(q "$billed_state")" = "$before" ] || fail "a cancelled batch left changes behind"
set_conf pg_backout.max_attempts 3

echo "-- 5d1. the server log has a line when a batch starts and when it ends (pg_backout.log_run)"
log_lines() { grep -oE "pg_backout: undo batch $1 of client 1 .*" "$(log_file)" | sed -E 's/ in [0-9]+ ms/ in <n> ms/'; }
retried="$(log_lines "$retried_batch")"
echo "$retried" | grep -qx "pg_backout: undo batch $retried_batch of client 1 started (attempt 1)" || fail "no start line: $retried"
echo "$retried" | grep -q "^pg_backout: undo batch $retried_batch of client 1 failed in <n> ms (attempt 1), retried in 1 s: .*(SQLSTATE 55P03)" \
  || fail "no retry line: $retried"
echo "$retried" | grep -qE "^pg_backout: undo batch $retried_batch of client 1 COMPLETED in <n> ms \(attempt [2-6]\)$" \
  || fail "no completion line: $retried"
cancelled="$(log_lines "$batch")"
echo "$cancelled" | grep -q "^pg_backout: undo batch $batch of client 1 ERROR in <n> ms (attempt 1): CANCELLED: cancelled by backout.cancel_batch" \
  || fail "no failure line: $cancelled"
echo "$retried" | sed "s/$retried_batch/<id>/" | sort -u

echo "-- 5d2. a batch running longer than pg_backout.batch_timeout ends BATCH_TIMEOUT and holds no lock"
set_conf pg_backout.batch_timeout 1s
hold_row 300
batch="$(q "$submit_undo")"
got="$(final_status "$batch")"
free="$(q "SELECT client_id FROM backout.lock_row WHERE client_id = 1 AND lock_kind = 'client' FOR UPDATE NOWAIT" 2>&1 || true)"
release_row
case "$got" in
  "ERROR|BATCH_TIMEOUT|1|the batch ran longer than pg_backout.batch_timeout"*) echo "timed out on its first attempt: ${got##*|}" ;;
  *) fail "a runaway batch (must end BATCH_TIMEOUT at once): $got" ;;
esac
[ "$free" = 1 ] || fail "the timed-out batch still holds its client's lock: $free"
[ "$(q "$billed_state")" = "$before" ] || fail "a timed-out batch left changes behind"
set_conf pg_backout.batch_timeout 1h

echo "-- 5e. a hot standby answers status checks, waits and previews (they only read)"
standby=/var/lib/postgresql/pg_backout_standby
sock=/tmp/pg_backout_standby_sock
rm -rf "$standby" "$sock"; mkdir -p "$sock"; chown postgres "$sock"
pg_basebackup -D "$standby" -X stream -R -c fast
cat > "$standby/postgresql.conf" <<CONF
port = 54329
listen_addresses = ''
unix_socket_directories = '$sock'
hot_standby = on
shared_preload_libraries = 'pg_backout'
pg_backout.database = '$db'
CONF
echo "local all all trust" > "$standby/pg_hba.conf"; : > "$standby/pg_ident.conf"
chown -R postgres "$standby"; chmod 700 "$standby"
runuser -u postgres -- "$(dirname "${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}")/pg_ctl" -D "$standby" -l /tmp/pg_backout_standby.log -w start >/dev/null
su_name="$(q "SELECT current_user")"
sq() { psql -X -At -v ON_ERROR_STOP=1 -h "$sock" -p 54329 -U "$su_name" -d "$db" -c "$1"; }
on_standby="$(sq "SELECT pg_is_in_recovery()")|$(sq "SELECT status || ' ' || error_code FROM backout.get_undo_job_schedule_status('$batch', 1)")|$(sq "SELECT backout.wait_for_batch('$batch', '1 second')")|$(sq "SELECT count(*) FROM backout.preview_backout_usage_file_transactions('march.json', 1, true)")"
runuser -u postgres -- "$(dirname "${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}")/pg_ctl" -D "$standby" -m fast -w stop >/dev/null
rm -rf "$standby" "$sock"
[ "$on_standby" = "t|ERROR BATCH_TIMEOUT|ERROR|1" ] || fail "on the standby: $on_standby"
echo "ok: $on_standby"

echo "-- 5f. transaction ids past the first epoch: wait_for_batch still knows its own transaction's batch"
pg_ctlcluster $cluster stop
runuser -u postgres -- "$(dirname "${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}")/pg_resetwal" -e 1 "/var/lib/postgresql/${PG_MAJOR:-15}/regress" >/dev/null
pg_ctlcluster $cluster start
wait_for 60 "SELECT true" || fail "server did not come back after pg_resetwal"
[ "$(q "SELECT pg_current_xact_id()::text::bigint > 4294967295")" = t ] || fail "epoch not advanced"
q "SELECT status FROM backout.run_billing(1, '2026-04-01')" >/dev/null
got="$(psql -X -At -d "$db" 2>&1 <<'SQL' | grep -o 'submitted by this transaction' || true
BEGIN;
SET LOCAL pg_backout.start_runners = off;
SELECT undo_batch_id AS id FROM backout.undo_job_schedule('2026-04-01', 1) \gset
SELECT backout.wait_for_batch(:'id', '20 seconds');
ROLLBACK;
SQL
)"
[ "$got" = "submitted by this transaction" ] || fail "wait_for_batch did not recognise its own transaction's batch after the epoch"
echo "ok: refused at once (epoch 1)"

echo "-- 5g. no runner can start (every worker slot in use): the caller is told once, clearly"
qpg "ALTER SYSTEM SET max_worker_processes = 1" >/dev/null   # the launcher's own slot
pg_ctlcluster $cluster restart
wait_for 60 "SELECT true" || fail "server did not come back"
out="$(psql -X -At -v ON_ERROR_STOP=1 -d "$db" 2>&1 <<'SQL'
SELECT undo_batch_id AS id FROM backout.undo_job_schedule('2026-04-01', 1) \gset
SELECT status FROM backout.get_undo_job_schedule_status(:'id', 1);
SELECT status FROM backout.get_undo_job_schedule_status(:'id', 1);
SELECT backout.wait_for_batch(:'id', '1 second');
SQL
)"
warnings="$(echo "$out" | grep -c 'WARNING' || true)"
[ "$warnings" = 1 ] || { echo "$out" >&2; fail "expected one warning, got $warnings"; }
echo "$out" | grep -q 'no runner could be started for this database' || { echo "$out" >&2; fail "the warning does not say why"; }
[ "$(echo "$out" | tail -n1)" = PROCESSING ] || { echo "$out" >&2; fail "the batch should wait"; }
echo "ok: one warning ($(echo "$out" | grep -o 'every background worker slot[^;]*'))"
q "CALL backout.run_pending_batches()" >/dev/null
qpg "ALTER SYSTEM RESET max_worker_processes" >/dev/null
pg_ctlcluster $cluster restart
wait_for 60 "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_backout launcher'" || fail "launcher not back"

echo "-- 6. a terminated launcher comes back; DROP DATABASE is not blocked"
old="$(launcher_pid)"
qpg "SELECT pg_terminate_backend($old)" >/dev/null
wait_for 20 "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_backout launcher' AND pid <> $old" \
  || fail "launcher not restarted"
timeout 30 dropdb "$db" || fail "DROP DATABASE $db failed"
echo ok
echo "crash tests passed"
