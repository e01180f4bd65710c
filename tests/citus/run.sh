#!/usr/bin/env bash
# The Citus suite (issue 20): pg_backout on a real three-node cluster (tests/citus/cluster.sh: a coordinator
# and two workers on localhost), distributed with backout.distribute(), every call delegated to its client's
# worker, batches run by the runners of the worker that holds the client.
#   1. distribute() refuses without Citus, with no worker and on a worker, keeps the rows written before it,
#      and is idempotent;
#   2. the demo (demo/demo.sql: ingest, billing, undo both ways, backout with undo_billing, clear, discard,
#      history, events, reset, query) on the cluster ends with invoices equal to its clean twin's, and equal
#      to the same demo's invoices on one PostgreSQL (a database without Citus on the coordinator node);
#   3. tests/citus/scenarios.sql: placement, router plans, privileges across workers, ids across nodes,
#      calls in a transaction block, runners per node, NOTIFY, cancel;
#   4. a worker stopped (immediate shutdown) in the middle of a batch: after its restart the batch ends
#      COMPLETED or ERROR, all or nothing.
# A worker never sends a command to another node: every statement of a delegated call or a batch runs on the
# worker that holds its client, in a transaction of that worker alone (citus.log_remote_commands on the
# workers, checked in their logs).
# Needs root (or postgres) and Citus; installs Citus from ../shared/citus when it is missing; skips (exit 0,
# with the reason) when Citus is not installed and its source is not there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
pg_config=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
libdir="$($pg_config --pkglibdir)"
if [ ! -f "$libdir/citus.so" ]; then
  if [ -f ../shared/citus/install.sh ]; then
    echo "-- installing Citus from ../shared/citus (a few minutes)"
    bash ../shared/citus/install.sh "$pg_config" > /tmp/citus_install.log 2>&1 \
      || { tail -30 /tmp/citus_install.log; exit 1; }
  else
    echo "SKIPPED: Citus is not installed ($libdir/citus.so) and ../shared/citus/install.sh is not there"
    exit 0
  fi
fi

export CITUS_DIR=${CITUS_DIR:-/tmp/pg_backout_citus}
export CITUS_EXTRA_CONF="pg_backout.start_runners = on
pg_backout.poll_interval = 2
pg_backout.runner_linger = 1
log_min_messages = log"
cluster="bash tests/citus/cluster.sh"
$cluster stop >/dev/null 2>&1 || true
[ -n "${CITUS_KEEP:-}" ] || trap '$cluster stop >/dev/null 2>&1 || true' EXIT  # CITUS_KEEP=1: leave it up to look at
$cluster start
chmod a+rx "$here" "$here/tests" "$here/tests/citus" "$here/demo" 2>/dev/null || true
q() { local port=$1; shift; $cluster psql "$port" -At -v ON_ERROR_STOP=1 "$@"; }
fail() { echo "FAIL: $*"; exit 1; }

echo "-- 1. distribute()"
q 9700 -d postgres -c "CREATE DATABASE plain" >/dev/null
q 9700 -d plain -c "CREATE EXTENSION pg_backout" >/dev/null
if out="$(q 9700 -d plain -c "SELECT * FROM backout.distribute()" 2>&1)"; then fail "distribute() ran without Citus"; fi
grep -q "Citus is not installed in this database" <<<"$out" || fail "distribute() without Citus: $out"
echo "ok: refused without Citus ($(grep -o 'ERROR: .*' <<<"$out" | head -1))"
q 9700 -d postgres -c "CREATE DATABASE lonely" >/dev/null
q 9700 -d lonely -q -c "SET client_min_messages = warning" -c "CREATE EXTENSION citus" -c "CREATE EXTENSION pg_backout" >/dev/null
if out="$(q 9700 -d lonely -c "SELECT * FROM backout.distribute()" 2>&1)"; then fail "distribute() ran with no worker"; fi
grep -q "no worker is registered" <<<"$out" || fail "distribute() with no worker: $out"
echo "ok: refused with no worker registered"
# rows written before distribute(): a client with usage and billing, and an entitlement of a role
q 9700 -q -c "SET client_min_messages = warning" \
  -c "INSERT INTO backout.client (client_id, name) VALUES (900, 'before')" \
  -c "INSERT INTO backout.account VALUES (900, 1, 'B-1')" \
  -c "INSERT INTO backout.billing_profile (client_id, acct_no, last_bill_date, next_bill_date) VALUES (900, 1, '2026-03-01', '2026-04-01')" \
  -c "INSERT INTO backout.usage_type VALUES (900, 10, 'CALL', 'Calls', 'minute')" \
  -c "INSERT INTO backout.price_offer (client_id, usage_type_no, acct_no, unit_price) VALUES (900, 10, NULL, 0.5)" \
  -c "SELECT status FROM backout.process_usage_file(900, 'before.json', '[{\"acct_no\": 1, \"usage_type_code\": \"CALL\", \"usage_date\": \"2026-03-05 10:00:00\", \"units\": 4}]')" \
  -c "CREATE ROLE citus_before" -c "SELECT backout.grant_client('citus_before', 900, 'reader')" >/dev/null
first="$(q 9700 -c "SELECT * FROM backout.distribute()")"
echo "$first" | grep -c "^distributed table" | xargs -I{} echo "ok: {} tables distributed by client_id"
echo "$first" | grep "^reference table" | sed 's/^/ok: /'
echo "$first" | grep -c "delegated by" | xargs -I{} echo "ok: {} functions delegated"
[ "$(echo "$first" | grep -c "^distributed table")" -ge 30 ] || fail "distribute(): $first"
echo "$first" | grep -q "^WARNING" && fail "distribute() warned: $first"
again="$(q 9700 -c "SELECT * FROM backout.distribute()")"
if echo "$again" | grep -qE "^(distributed|reference) table|delegated"; then fail "distribute() again redid: $again"; fi
echo "ok: distribute() again changes nothing ($(echo "$again" | wc -l) sequence checks)"
kept="$(q 9700 -c "SELECT count(*) FROM backout.usage_txn WHERE client_id = 900") $(
        q 9700 -c "SELECT string_agg(role::text, ',') FROM backout.entitlement WHERE client_id = 900") $(
        q 9700 -c "SELECT count(*) FROM backout.check_usage_day_counts(900)")"
[ "$kept" = "1 citus_before 0" ] || fail "rows written before distribute(): $kept"
[ "$(q 9700 -c "SELECT status || ' ' || total_amount FROM backout.run_billing(900, '2026-04-01')")" = "COMPLETED 2.0" ] \
  || fail "billing the client written before distribute()"
echo "ok: rows written before distribute() are kept (usage, day counts exact, the entitlement names its role) and bill"
if out="$(q 9701 -c "SELECT * FROM backout.distribute()" 2>&1)"; then fail "distribute() ran on a worker"; fi
grep -q "run it on the coordinator" <<<"$out" || fail "distribute() on a worker: $out"
# every statement a worker runs for the extension (delegated calls, batches) must stay on that worker: each
# command a worker sends to another node is logged there (citus.log_remote_commands), and checked at the end
for port in 9701 9702; do
  q "$port" -c "ALTER SYSTEM SET citus.log_remote_commands = on" -c "ALTER SYSTEM SET log_min_messages = notice" \
            -c "SELECT pg_reload_conf()" >/dev/null
done

echo "-- 2. the demo on the cluster, and on one PostgreSQL"
q 9700 -d plain -q -f demo/demo.sql > /tmp/pg_backout_citus_demo_plain.log 2>&1 \
  || { cat /tmp/pg_backout_citus_demo_plain.log; fail "the demo on one PostgreSQL"; }
q 9700 -q -f demo/demo.sql > /tmp/pg_backout_citus_demo.log 2>&1 \
  || { cat /tmp/pg_backout_citus_demo.log; fail "the demo on the cluster"; }
grep "equal the clean run's" /tmp/pg_backout_citus_demo.log | sed 's/^/ok: on the cluster, /'
invoices="SELECT i.acct_no, i.period_start, i.period_end, i.usage_amount, i.true_up_amount, i.total_amount,
                 (SELECT string_agg(r.record_type || ' ' || coalesce(r.usage_type_no::text, '-') || ' ' || r.units
                                    || ' ' || r.amount, ', ' ORDER BY r.record_type, r.usage_type_no)
                  FROM backout.billing_record r WHERE r.client_id = i.client_id AND r.invoice_no = i.invoice_no)
          FROM backout.invoice i WHERE i.client_id IN (1001, 2001) ORDER BY i.client_id, i.acct_no, i.period_start"
q 9700 -d plain -c "$invoices" > /tmp/pg_backout_citus_inv_plain.txt
q 9700 -c "$invoices" > /tmp/pg_backout_citus_inv.txt
diff /tmp/pg_backout_citus_inv_plain.txt /tmp/pg_backout_citus_inv.txt || fail "invoices differ from one PostgreSQL's"
echo "ok: the $(wc -l < /tmp/pg_backout_citus_inv.txt) invoices of both demo clients equal those of one PostgreSQL"

echo "-- 3. scenarios"
q 9700 -q -f tests/citus/scenarios.sql > /tmp/pg_backout_citus_scenarios.log 2>&1 \
  || { cat /tmp/pg_backout_citus_scenarios.log; fail "scenarios"; }
grep -E "^ok" /tmp/pg_backout_citus_scenarios.log
for port in 9701 9702; do
  if grep -aE " (ERROR|PANIC):  " "$CITUS_DIR/$port.log" | grep -av "canceling statement due to user request\|terminating connection\|violates exclusion constraint\|violates row-level security\|backout.distribute: run it on the coordinator" | grep -q .; then
    grep -aE " (ERROR|PANIC):  " "$CITUS_DIR/$port.log" | tail -20; fail "errors in the log of worker $port"
  fi
done
# A worker never sends a command over a connection, to another node or to itself: every statement of a call or
# a batch runs by Citus's local execution on the worker's own shards (no statement on another node's shard, no
# intermediate result copied anywhere, no transaction elsewhere, so no two-phase commit).  Each "issuing" line
# is matched with its destination ("DETAIL:  on server postgres@localhost:<port>") by process id; the only
# commands allowed are those of Citus's own maintenance daemon (distributed deadlock detection, recovery of
# prepared transactions).
for port in 9701 9702; do
  elsewhere="$(awk -v me="localhost:$port " '
      { if (match($0, /\[[0-9]+\]/)) pid = substr($0, RSTART, RLENGTH); else next }
      /NOTICE:  issuing/ { cmd[pid] = $0; next }
      /DETAIL:  on server/ && (pid in cmd) {
        if (cmd[pid] !~ /issuing (SELECT waiting_pid|SELECT gid FROM pg_prepared_xacts)/) print cmd[pid] " -> " (index($0, me) ? "itself" : substr($0, index($0, "on server")))
        delete cmd[pid]
      }' "$CITUS_DIR/$port.log")"
  if [ -n "$elsewhere" ]; then
    echo "$elsewhere" | cut -c1-300 | head -10
    fail "worker $port sent $(echo "$elsewhere" | wc -l) command(s) over a connection"
  fi
  # nor a two-phase commit with itself (an INSERT reading another CTE's rows opens a connection to its own node)
  if grep -aq "NOTICE:  issuing PREPARE TRANSACTION" "$CITUS_DIR/$port.log"; then
    grep -a -B40 "NOTICE:  issuing PREPARE TRANSACTION" "$CITUS_DIR/$port.log" | grep -a "CONTEXT\|STATEMENT" | tail -3 | cut -c1-300
    fail "worker $port committed a transaction with two-phase commit"
  fi
  echo "ok: worker $port sent no command over a connection and prepared no transaction ($(grep -ac 'NOTICE:  executing the command locally' "$CITUS_DIR/$port.log") statements run locally)"
done
# each batch ran on its client's worker, and only there (pg_backout.log_run's lines in the workers' logs)
while read -r _ id client; do
  port="$(q 9700 -c "SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
                      WHERE p.shardid = get_shard_id_for_distribution_column('backout.client', $client)")"
  other=$(( port == 9701 ? 9702 : 9701 ))
  grep -aq "batch $id of client $client started" "$CITUS_DIR/$port.log" || fail "batch $id of client $client did not run on $port"
  if grep -aq "batch $id of client $client started" "$CITUS_DIR/$other.log"; then fail "batch $id of client $client ran on $other"; fi
  echo "ok: batch $id of client $client ran on its worker $port, not on $other"
done < <(grep -E "^batch " /tmp/pg_backout_citus_scenarios.log)
bash tests/citus/worker_crash.sh
echo "== citus suite passed"
