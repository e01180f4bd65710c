#!/usr/bin/env bash
# The Citus probe of pg_backout as installed (0.6.0): on a fresh three-node cluster (tests/citus/cluster.sh),
# distribute the schema as it is and record every refusal, distribute it with the workarounds, then run the
# API and the operations' own statements (taken from src/, tests/citus/probe/extract.py) for two clients
# living on different workers, recording each outcome.  This is what tests/citus/NOTES.md reports; run
# it again after each fix to see what is left.  No assertion: it prints.  Output: $OUT (default
# target/citus-probe), one file per step, and all of it on stdout.
#
# Usage: tests/citus/probe/probe.sh [SRC_DIR]   (SRC_DIR: the src/ whose statements are probed; default ./src)
#   KEEP=1 leaves the cluster running (tests/citus/cluster.sh stop removes it).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
src=${1:-$repo/src}
out=${OUT:-$repo/target/citus-probe}
cluster="$here/../cluster.sh"
export CITUS_DIR=${CITUS_DIR:-/tmp/citus_h}
mkdir -p "$out" && rm -f "$out"/*.out "$out"/*.sql
chmod a+rwx "$out" 2>/dev/null || true

gen="$out/gen"; mkdir -p "$gen"
python3 "$here/extract.py" "$src" "$gen" || exit 1
chmod -R a+r "$gen" "$here"

step() {  # step NAME PORT FILE [psql -v args...]: run FILE on node PORT, keep its output
  local name=$1 port=$2 file=$3; shift 3
  echo "######## $name (node $port)" | tee "$out/$name.out"
  "$cluster" psql "$port" -v ON_ERROR_STOP=0 "$@" -f "$file" 2>&1 \
    | grep -v -E '^ *[0-9]+: |^ +at |^DETAIL: *$|^$' | tee -a "$out/$name.out"
}
every_node() {  # every_node NAME FILE
  local port
  for port in 9700 9701 9702; do step "$1-$port" "$port" "$2" -q; done
}
node_of() {
  "$cluster" psql 9700 -At -c "SELECT nodeport FROM pg_dist_placement JOIN pg_dist_node USING (groupid)
                               WHERE shardid = get_shard_id_for_distribution_column('backout.client', $1)"
}
q() { "$cluster" psql "$1" -At -c "$2"; }

"$cluster" stop >/dev/null 2>&1
t0=$SECONDS
"$cluster" start || exit 1
echo "cluster ready in $((SECONDS - t0)) s"
q 9700 "CREATE ROLE alice LOGIN" >/dev/null

recs='[{"acct_no": 501, "usage_type_code": "VOICE", "usage_date": "2026-03-02 09:15:00", "units": 1200, "client_record_id": "CDR-1"},
 {"acct_no": 501, "usage_type_code": "DATA", "usage_date": "2026-03-03 18:40:00", "units": 12.5, "client_record_id": "CDR-2"},
 {"client_acct_id": "NW-BRAVO", "usage_type_code": "VOICE", "usage_date": "2026-03-04 11:00:00", "units": 5400, "client_record_id": "CDR-3"},
 {"acct_no": 503, "usage_type_code": "VOICE", "usage_date": "2026-03-05 08:30:00", "units": 6000, "client_record_id": "CDR-4"}]'
late='[{"acct_no": 502, "usage_type_code": "VOICE", "usage_date": "2026-03-30 17:00:00", "units": 900},
 {"acct_no": 504, "usage_type_code": "VOICE", "usage_date": "2026-03-31 12:00:00", "units": 300}]'

step 10_distribute_as_is 9700 "$here/10_distribute_as_is.sql"
every_node 20_triggers "$here/20_triggers_every_node.sql"
step 21_distribute_with_workarounds 9700 "$here/21_distribute_with_workarounds.sql"
step 30_data 9700 "$here/30_data.sql"
n1001=$(node_of 1001); n1002=$(node_of 1002)
echo "client 1001 lives on $n1001, client 1002 on $n1002"
for c in 1001 1002; do step "31_load_$c" 9700 "$gen/ingest_load.sql" -v client=$c -v recs="$recs" -v late="$late"; done
step 32_ingest_validate 9700 "$gen/ingest_validate.sql" -v client=1002 -v recs="$recs"
step 33_ingest_asis 9700 "$gen/ingest_asis.sql" -v client=1002 -v recs="$recs"
step 34_discard_statement "$n1001" "$gen/discard.sql" -v client=1001 -v crid=CDR-2
step 35_unpriced 9700 "$gen/unpriced.sql" -v client=1002 -v day=2026-04-01
step 40_api_pass1_coordinator 9700 "$here/40_api.sql"
step 41_distribute_functions 9700 "$here/41_distribute_functions.sql"
step 40_api_pass2_delegated 9700 "$here/40_api.sql"
step 42_rowcount 9700 "$here/42_rowcount.sql"
q 9700 "SELECT backout.grant_client('alice', 1002, 'operator')" >/dev/null
step 60_rls_before 9700 "$here/60_rls.sql"
every_node 61_entitlement "$here/61_entitlement_every_node.sql"
step 60_rls_after 9700 "$here/60_rls.sql"
step 62_rls_cost 9700 "$here/62_rls_cost.sql"
step 50_billing_asis 9700 "$gen/billing_asis.sql" -v client=1001 -v day=2026-04-01
step 51_billing_fixed 9700 "$gen/billing_fixed.sql" -v client=1001 -v day=2026-04-01
step 51_check 9700 "$here/51_check.sql"
every_node 70_hacks "$here/70_hacks_every_node.sql"
step 71_undo 9700 "$here/71_undo.sql"
step 72_hack_reversed_at 9700 "$here/72_hack_reversed_at.sql"
step 71_undo_again 9700 "$here/71_undo.sql"
step 73_reset_and_discard 9700 "$here/73_reset_and_discard.sql"
step 51_billing_fixed_again "$n1001" "$gen/billing_fixed.sql" -v client=1001 -v day=2026-04-01
step 51_check_again 9700 "$here/51_check.sql"
# runners: on 1001's node only; the other client's backout put at the head of the cluster-wide queue
q "$n1001" "ALTER SYSTEM SET pg_backout.start_runners = on" >/dev/null; q "$n1001" "SELECT pg_reload_conf()" >/dev/null
step 80_runner 9700 "$here/80_runner.sql"
echo "######## server log lines of the runners"
grep -E "pg_backout: |cannot PREPARE|runner\" \(PID" "$CITUS_DIR"/970?.log | grep -v CONTEXT | sed "s|^$CITUS_DIR/||" \
  | sort -k2,2 | cut -c1-300 | tail -14 | tee "$out/81_runner_log.out"
echo "probe done in $((SECONDS - t0)) s; outputs in $out"
[ "${KEEP:-0}" = 1 ] || "$cluster" stop
