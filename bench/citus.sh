#!/usr/bin/env bash
# pg_backout benchmark for the Citus scale-out (issue 20): what a client's operations cost on a three-node
# Citus cluster (a coordinator and two workers on localhost, tests/citus/cluster.sh) against the same data on
# one node, and whether billing runs of clients on different workers run side by side.
#
#   1. One client, the same data side by side on the cluster and on one node: a database "plain" without
#      Citus on the coordinator's server (the same binary, settings and machine).  Per repetition a fresh
#      client: master data, usage ingested as JSON files passed as constants (so every call is delegated to
#      the client's worker), then timed: run_billing, undo_job_schedule + wait_for_batch, run_billing again,
#      backout_usage_file_transactions(undo_billing => true) + wait_for_batch.  The repetitions alternate
#      which database goes first, so drift of the machine is shared; medians and the ratio cluster / one node.
#   2. Scale-out: 4 clients, two on each worker (chosen from the placement), the same data each, billed one
#      after another from one session and all at once from 4 sessions (wall-clock of both); the runs are
#      undone and vacuumed (untimed) between passes, so every pass bills the same data.  The same on the plain database,
#      as the one-node baseline (the machine's cores bound both).
#   3. Where the time goes in one billing run on the cluster: the call on the coordinator against the
#      delegated statement on the worker (log_min_duration_statement), and every command the nodes sent to
#      each other (citus.log_remote_commands / log_local_commands), counted by kind and destination; the same
#      for an undo and its wait_for_batch.
#
# Usage (as root or postgres; needs Citus installed, like tests/citus/run.sh):  bash bench/citus.sh
# Environment (defaults in brackets; about 1-2 minutes on an idle 2-core machine):
#   BENCH_ACCOUNTS [200]         accounts per client (all due on 2026-04-01, half with a commitment)
#   BENCH_RECORDS [30000]        usage records per client in section 1 (rounded down to whole files)
#   BENCH_FILE_RECORDS [10000]   records per usage file (BENCH_RECORDS / this = files per client)
#   BENCH_REPS [3]               repetitions of section 1 (a fresh client each)
#   BENCH_SCALE_RECORDS [10000]  usage records per client in section 2 (0: skip sections 2 and 3)
#   BENCH_SCALE_ROUNDS [2]       rounds of section 2 (each: a sequential and a parallel pass; the order alternates)
#   BENCH_SCALE_PLAIN [1]        0: section 2 on the cluster only
#   BENCH_DURABLE [0]            1: fsync, synchronous_commit and full_page_writes on (cluster.sh turns them
#                                off; the two-phase commits of the cluster then pay their flushes)
#   BENCH_KEEP [unset]           1: leave the cluster running at the end (stop: CITUS_DIR=... CITUS_PORTS=...
#                                bash tests/citus/cluster.sh stop)
#   BENCH_CITUS_DIR [/tmp/pg_backout_citus_bench], BENCH_CITUS_PORTS ["9800 9801 9802"]  the throwaway cluster
#   BENCH_OUT [/tmp/pg_backout_citus_bench_out]  the psql output of every step and the extracted results
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

accounts=${BENCH_ACCOUNTS:-200}
records=${BENCH_RECORDS:-30000}
file_records=${BENCH_FILE_RECORDS:-10000}
reps=${BENCH_REPS:-3}
scale_records=${BENCH_SCALE_RECORDS:-10000}
scale_rounds=${BENCH_SCALE_ROUNDS:-2}
scale_plain=${BENCH_SCALE_PLAIN:-1}
durable=${BENCH_DURABLE:-0}
out=${BENCH_OUT:-/tmp/pg_backout_citus_bench_out}
bdate=2026-04-01
# files of equal size: BENCH_RECORDS rounded down to a multiple of the file size
files=$(( records / file_records )); [ "$files" -ge 1 ] || files=1
file_records=$(( records / files )); records=$(( files * file_records ))
scale_files=$(( scale_records / (file_records > 0 ? file_records : 1) )); [ "$scale_files" -ge 1 ] || scale_files=1
scale_file_records=$(( scale_records / scale_files )); [ "$scale_records" -gt 0 ] || scale_file_records=0

# The cluster: never the test suite's (/tmp/pg_backout_citus, ports 9700-9702), never the 15/regress cluster.
export CITUS_DIR=${BENCH_CITUS_DIR:-/tmp/pg_backout_citus_bench}
export CITUS_PORTS=${BENCH_CITUS_PORTS:-9800 9801 9802}
read -r coord w1 w2 <<< "$CITUS_PORTS"
case " $CITUS_PORTS " in *" 9700 "*|*" 9701 "*|*" 9702 "*) echo "bench: ports 9700-9702 belong to the test suite" >&2; exit 2;; esac
[ "$CITUS_DIR" != /tmp/pg_backout_citus ] || { echo "bench: $CITUS_DIR belongs to the test suite" >&2; exit 2; }
pg_config=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
[ -f "$("$pg_config" --pkglibdir)/citus.so" ] || { echo "bench: Citus is not installed (see tests/citus/run.sh)" >&2; exit 2; }

# Batches run by the runners of the client's worker (started by the submission), found quickly; LOG level
# for pg_backout.log_run's lines (each batch's own run time, read from the logs for the report).
CITUS_EXTRA_CONF="pg_backout.start_runners = on
pg_backout.poll_interval = 2
pg_backout.runner_linger = 1
log_min_messages = log"
if [ "$durable" = 1 ]; then
  CITUS_EXTRA_CONF="$CITUS_EXTRA_CONF
fsync = on
synchronous_commit = on
full_page_writes = on"
fi
export CITUS_EXTRA_CONF
cluster="bash tests/citus/cluster.sh"
$cluster stop >/dev/null 2>&1 || true
[ -n "${BENCH_KEEP:-}" ] || trap '$cluster stop >/dev/null 2>&1 || true' EXIT
rm -rf "$out" && mkdir -p "$out" && chmod 0755 "$out"

# q PORT [psql args]: psql on a node (database billing unless -d), unaligned, stops at the first error
q() { local port=$1; shift; $cluster psql "$port" -At -v ON_ERROR_STOP=1 "$@"; }
fail() { echo "bench FAILED: $*" >&2; exit 1; }
# run LOG DB [psql -v args] -- FILE...: the files in one psql session (fed on stdin: no file permissions
# needed for the postgres user); keeps the output in $out/LOG, collects its RESULT lines, fails with its tail
run() {
  local log=$1 db=$2; shift 2
  local args=() files=()
  while [ "$1" != -- ]; do args+=("$1"); shift; done; shift; files=("$@")
  if ! cat "${files[@]}" | q "$coord" -d "$db" -q "${args[@]}" > "$out/$log" 2>&1; then
    tail -20 "$out/$log" >&2; fail "$log (full output: $out/$log)"
  fi
  grep -E '^RESULT ' "$out/$log" >> "$out/results.txt" || true
}
sum() { awk '{ s += $1 } END { if (NR) printf "%.1f", s }'; }   # the numbers on stdin, one a line
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# the machine's CPU time so far ("busy total" in ticks, from /proc/stat), and the cores busy on average since
cpu_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
cores_busy() {  # "BUSY TOTAL" from cpu_ticks
  local b0 t0 b1 t1; read -r b0 t0 <<< "$1"; read -r b1 t1 <<< "$(cpu_ticks)"
  awk -v b="$(( b1 - b0 ))" -v t="$(( t1 - t0 ))" -v n="$(nproc)" 'BEGIN { printf "%.1f", (t > 0 ? b / t * n : 0) }'
}

echo "== pg_backout on Citus: one client on the cluster vs one node, and scale-out"
echo "-- starting the cluster ($CITUS_DIR, ports $CITUS_PORTS)"
$cluster start
q "$coord" -c "SET client_min_messages = warning; SELECT * FROM backout.distribute()" > "$out/distribute.txt"
grep -q "^WARNING" "$out/distribute.txt" && fail "distribute() warned: $(cat "$out/distribute.txt")"
echo "-- backout.distribute(): $(grep -c '^distributed table' "$out/distribute.txt") tables distributed by client_id, $(grep -c 'delegated by' "$out/distribute.txt") functions delegated"
# the same schema, not distributed, in a database without Citus on the coordinator's server
q "$coord" -d postgres -c "CREATE DATABASE plain" >/dev/null
q "$coord" -d plain -c "SET client_min_messages = warning; CREATE EXTENSION pg_backout" >/dev/null
for db in billing plain; do run "setup_$db.log" "$db" -- bench/citus_setup.sql; done
echo "-- $(q "$coord" -c "SELECT 'Citus ' || extversion FROM pg_extension WHERE extname = 'citus'"), $(q "$coord" -c "SELECT 'pg_backout ' || extversion FROM pg_extension WHERE extname = 'pg_backout'"), $(q "$coord" -c "SHOW server_version" | cut -d' ' -f1 | sed 's/^/PostgreSQL /'), shard_count $(q "$coord" -c "SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'backout.client'::regclass"), fsync $(q "$coord" -c "SHOW fsync"), $(nproc) cores"

port_of() {  # the worker that holds client $1
  q "$coord" -c "SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
                 WHERE p.shardid = get_shard_id_for_distribution_column('backout.client', $1)"
}

# ---------------------------------------------------------------------------------------------------------
echo
echo "-- 1. one client: $accounts accounts, $records usage records in $files files of $file_records, $reps repetitions"
: > "$out/results.txt"
for rep in $(seq 1 "$reps"); do
  c=$(( 7000 + rep ))
  # odd repetitions: the cluster first; even: one node first
  if (( rep % 2 )); then order="cluster plain"; else order="plain cluster"; fi
  for target in $order; do
    db=billing; [ "$target" = plain ] && db=plain
    t0=$(now_ms)
    run "rep${rep}_$target.log" "$db" -v target="$target" -v rep="$rep" -v c="$c" -v accounts="$accounts" \
        -v files="$files" -v file_records="$file_records" -v bdate="$bdate" -- bench/citus_ingest.sql bench/citus_ops.sql
    echo "   repetition $rep, client $c on $target$([ "$target" = cluster ] && echo " (worker $(port_of "$c"))"): $(( $(now_ms) - t0 )) ms in all"
  done
done

# each batch's own run time: pg_backout.log_run's "<kind> batch <id> of client <c> COMPLETED in <n> ms"
batch_times() {
  cat "$CITUS_DIR"/*.log | grep -aoE 'batch [0-9a-f-]{36} of client [0-9]+ COMPLETED in [0-9]+ ms' \
    | awk '{print $2, $(NF-1)}' > "$out/batches.txt"
}

# ---------------------------------------------------------------------------------------------------------
scale_clients=()
if [ "$scale_records" -gt 0 ]; then
  # two clients on each worker, from the placement (not from the hash function)
  mapfile -t scale_clients < <(q "$coord" -c "
      SELECT c FROM (SELECT c, n.nodeport, row_number() OVER (PARTITION BY n.nodeport ORDER BY c) AS k
                     FROM generate_series(7101, 7300) c
                     JOIN pg_dist_placement p ON p.shardid = get_shard_id_for_distribution_column('backout.client', c)
                     JOIN pg_dist_node n USING (groupid)) x
      WHERE k <= 2 ORDER BY nodeport, c")
  [ "${#scale_clients[@]}" = 4 ] || fail "no two clients per worker in 7101..7300: ${scale_clients[*]}"
  echo
  echo "-- 2. scale-out: clients ${scale_clients[*]} (worker $(port_of "${scale_clients[0]}"): ${scale_clients[0]} ${scale_clients[1]}; worker $(port_of "${scale_clients[2]}"): ${scale_clients[2]} ${scale_clients[3]}), $accounts accounts and $(( scale_files * scale_file_records )) records each, $scale_rounds rounds"
  targets="cluster"; [ "$scale_plain" = 1 ] && targets="cluster plain"
  for target in $targets; do
    db=billing; [ "$target" = plain ] && db=plain
    for c in "${scale_clients[@]}"; do
      run "scale_ingest_${target}_$c.log" "$db" -v target="scale_$target" -v rep=0 -v c="$c" -v accounts="$accounts" \
          -v files="$scale_files" -v file_records="$scale_file_records" -- bench/citus_ingest.sql
    done
  done
  sed -i '/^RESULT scale_/d' "$out/results.txt"   # (ingest of the scale clients: not reported)

  # one pass: bill the 4 clients, sequential (one session, one call after the other) or parallel (4 sessions
  # started together); wall-clock from the start of the psql process(es) to the end of the last one
  bill_pass() {
    local target=$1 mode=$2 round=$3 db=billing c t0 cpu0 pids=() sql=""
    [ "$target" = plain ] && db=plain
    cpu0=$(cpu_ticks); t0=$(now_ms)
    if [ "$mode" = sequential ]; then
      for c in "${scale_clients[@]}"; do sql+="SELECT status FROM backout.run_billing($c, '$bdate');"$'\n'; done
      q "$coord" -d "$db" <<< "$sql" > "$out/scale_${target}_${mode}_$round.log" 2>&1 || true
    else
      for c in "${scale_clients[@]}"; do
        q "$coord" -d "$db" -c "SELECT status FROM backout.run_billing($c, '$bdate')" > "$out/scale_${target}_${mode}_${round}_$c.log" 2>&1 &
        pids+=($!)
      done
      wait "${pids[@]}" || true
    fi
    local ms=$(( $(now_ms) - t0 )) busy
    busy=$(cores_busy "$cpu0")
    [ "$(cat "$out"/scale_"${target}_${mode}_${round}"*.log | grep -cx COMPLETED)" = 4 ] \
      || { cat "$out"/scale_"${target}_${mode}_${round}"*.log >&2; fail "a $mode billing pass on $target did not complete"; }
    echo "SCALE $target $round $mode $ms - $busy" >> "$out/results.txt"
    echo "   round $round, $target, $mode: $ms ms, $busy cores busy on average"
  }
  # undo the 4 runs (usage kept), untimed: the next pass bills the same data
  undo_all() {
    local db=billing c sql=""
    [ "$1" = plain ] && db=plain
    for c in "${scale_clients[@]}"; do
      sql+="SELECT undo_batch_id AS u$c FROM backout.undo_job_schedule('$bdate', $c, user_id => 'bench') \\gset"$'\n'
    done
    for c in "${scale_clients[@]}"; do
      sql+="SELECT bench.ok(backout.wait_for_batch(:'u$c', '1 hour') = 'COMPLETED', 'undo of client $c') \\gset"$'\n'
    done
    # and the dead rows of the run and its undo vacuumed away, so that every pass starts from the same tables
    sql+="VACUUM ANALYZE backout.usage_txn, backout.usage_day_count, backout.billing_profile, backout.commitment_balance,
                         backout.invoice, backout.billing_record, backout.job_schedule_list;"
    q "$coord" -d "$db" <<< "$sql" > "$out/scale_undo.log" 2>&1 || { cat "$out/scale_undo.log" >&2; fail "undo of the scale clients on $1"; }
  }
  for round in $(seq 1 "$scale_rounds"); do
    if (( round % 2 )); then modes="sequential parallel"; else modes="parallel sequential"; fi
    for mode in $modes; do
      for target in $targets; do bill_pass "$target" "$mode" "$round"; undo_all "$target"; done
    done
  done

  # -------------------------------------------------------------------------------------------------------
  # 3. One billing run, then its undo, of the first scale client, with every node logging each statement's
  # duration and every command Citus sends (or runs on a local shard).
  c=${scale_clients[0]}; cw=$(port_of "$c")
  echo
  echo "-- 3. where the time goes: one billing run and its undo, client $c (worker $cw), every node logging"
  log_settings() {  # on|off
    local p
    for p in $coord $w1 $w2; do
      if [ "$1" = on ]; then
        q "$p" -c "ALTER SYSTEM SET citus.log_remote_commands = on" -c "ALTER SYSTEM SET citus.log_local_commands = on" \
               -c "ALTER SYSTEM SET log_min_messages = notice" -c "ALTER SYSTEM SET log_min_duration_statement = 0" \
               -c "SELECT pg_reload_conf()" >/dev/null
      else
        q "$p" -c "ALTER SYSTEM RESET citus.log_remote_commands" -c "ALTER SYSTEM RESET citus.log_local_commands" \
               -c "ALTER SYSTEM RESET log_min_messages" -c "ALTER SYSTEM RESET log_min_duration_statement" \
               -c "SELECT pg_reload_conf()" >/dev/null
      fi
    done
    sleep 1   # (the reload reaches the backends asynchronously)
  }
  declare -A offset
  mark() { local p; for p in $coord $w1 $w2; do offset[$p]=$(stat -c %s "$CITUS_DIR/$p.log"); done; }
  # the log lines written since mark, prefixed with the node: "PORT <line>"
  since() { local p; for p in $coord $w1 $w2; do tail -c +$(( offset[$p] + 1 )) "$CITUS_DIR/$p.log" | sed "s/^/$p /"; done; }
  log_settings on
  mark
  q "$coord" -c '\timing on' -c "SELECT status FROM backout.run_billing($c, '$bdate')" > "$out/where_billing.out" 2>&1 || true
  grep -qx COMPLETED "$out/where_billing.out" || { cat "$out/where_billing.out" >&2; fail "the logged billing run"; }
  bill_ms="$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' "$out/where_billing.out")"
  since > "$out/where_billing.log"
  mark
  undo_ms="$(q "$coord" <<< "\\timing on
SELECT undo_batch_id FROM backout.undo_job_schedule('$bdate', $c, user_id => 'bench') \\gset
SELECT backout.wait_for_batch(:'undo_batch_id', '1 hour');" 2>"$out/where_undo.err" | tee "$out/where_undo.out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | sum)" || true
  grep -qx COMPLETED "$out/where_undo.out" || { cat "$out/where_undo.out" >&2; fail "the logged undo"; }
  sleep 1.5   # the runner's last lines (it lingers 1 s)
  since > "$out/where_undo.log"
  log_settings off

  # Commands, from each node's log: "NOTICE:  issuing <command>" + "DETAIL:  on server ...:<port>" (sent to
  # a node over a connection), "executing the command/copy locally" (run on a shard of the node itself).  A
  # notice relayed from a worker to the coordinator's client is also logged by the coordinator, followed by
  # "DETAIL:  from localhost:<port>": not counted twice.  Citus's own maintenance is left out.  Each
  # command is put down to its session: SESSIONS is a list of node:pid=label (the call's sessions, the
  # runner), any other session is "other" (the runners the launcher starts every 2 s on every node, ...).
  count_commands() {  # FILE SESSIONS
    awk -v coord="$coord" -v sessions="$2" '
      BEGIN { n = split(sessions, s, " "); for (i = 1; i <= n; i++) { split(s[i], kv, "="); label[kv[1]] = kv[2] } }
      function kind(cmd) {
        if (cmd ~ /^BEGIN/) return "BEGIN + assign_distributed_transaction_id"
        if (cmd ~ /^COPY .*\(format result\)/) return "COPY of an intermediate result"
        if (cmd ~ /^PREPARE TRANSACTION/) return "PREPARE TRANSACTION"
        if (cmd ~ /^COMMIT PREPARED/) return "COMMIT PREPARED"
        if (cmd ~ /^(COMMIT|ROLLBACK)/) return "COMMIT / ROLLBACK"
        if (cmd ~ /FROM backout\.[a-z_]+\(/) return "the delegated call"
        if (cmd ~ /_wait_edges\(\)|pg_prepared_xacts/) return ""   # Citus maintenance: deadlock detection, 2PC recovery
        if (cmd ~ /backout\.[a-z_]+_[0-9]+/) return "statement on a shard"
        return "other"
      }
      function flush(p) {
        if (p in what && what[p] != "" && !(p in relayed))
          printf "%s|%s|%s|%s\n", node[p], (p in label ? label[p] : "other"), what[p], (dest[p] == "" ? node[p] : dest[p])
        delete what[p]; delete dest[p]; delete relayed[p]
      }
      {
        n = $1; if (!match($0, /\[[0-9]+\]/)) next; pid = n ":" substr($0, RSTART + 1, RLENGTH - 2)
        if ($0 ~ /DETAIL:  on server /) { match($0, /:[0-9]+ connectionId/); dest[pid] = substr($0, RSTART + 1, RLENGTH - 14); next }
        if ($0 ~ /DETAIL:  from /) { relayed[pid] = 1; next }
        flush(pid)
        if ($0 ~ /NOTICE:  issuing /) { node[pid] = n; what[pid] = kind(substr($0, index($0, "NOTICE:  issuing ") + 17)) }
        else if ($0 ~ /NOTICE:  executing the command locally/) { node[pid] = n; what[pid] = "local: statement on its own shard" }
        else if ($0 ~ /NOTICE:  executing the copy locally/) { node[pid] = n; what[pid] = "local: copy of an intermediate result" }
      }
      END { for (p in what) flush(p) }' "$1" \
    | sort | uniq -c \
    | awk -v coord="$coord" '
        { cnt = $1; sub(/^ *[0-9]+ /, ""); split($0, f, "|")
          who = (f[1] == coord ? "coordinator " : "worker ") f[1]
          to = (f[4] == f[1] ? "itself" : (f[4] == coord ? "the coordinator" : "worker " f[4]))
          printf "%s\t%s\t%06d\t     %-17s %-8s %-42s %-16s %5d\n", f[1], f[2], 999999 - cnt, who, f[2], f[3], to, cnt }' \
    | sort | cut -f4 \
    | { printf "     %-17s %-8s %-42s %-16s %5s\n" node session command to count; cat; }
  }
  # the sessions (node:pid=LABEL) of the log lines of FILE that match ERE
  pids_of() { grep -aE "$3" "$1" | sed -n "s/^\([0-9]*\) [^[]*\[\([0-9]*\)\].*/\1:\2=$2/p" | sort -u | tr '\n' ' '; }
  # durations (log_min_duration_statement) of the statements that mention a string, on a node
  dur() { grep -a "^$1 .*duration: .*$2" "$3" | sed -n 's/.*duration: \([0-9.]*\) ms.*/\1/p' | sum; }
  coord_ms="$(dur "$coord" "statement: SELECT status FROM backout.run_billing" "$out/where_billing.log")"
  worker_ms="$(dur "$cw" "backout.run_billing(" "$out/where_billing.log")"
  others_ms="$({ grep -aE '^[0-9]+ .*duration: .*statement: (BEGIN|COPY|PREPARE TRANSACTION|COMMIT PREPARED)' "$out/where_billing.log" || true; } \
               | sed -n 's/.*duration: \([0-9.]*\) ms.*/\1/p' | sum)"  # none, when the run talks to no other node
  echo "   run_billing($c): ${bill_ms} ms at the client (psql \\timing); the statement on the coordinator ${coord_ms:-?} ms;"
  echo "   the delegated call on worker $cw (parse + bind + execute) ${worker_ms:-?} ms; so delegation, 2PC and round trips: $(awk -v a="${coord_ms:-0}" -v b="${worker_ms:-0}" 'BEGIN { printf "%.1f", a - b }') ms"
  echo "   the statements it sent over connections took ${others_ms:-0} ms on the receiving nodes (BEGIN, COPY of results, PREPARE, COMMIT PREPARED)"
  echo "   commands issued during the billing run (\"local\": run by Citus's local execution, no connection; \"to itself\":"
  echo "   over a connection to its own node; \"other\" sessions: mostly the runners the launcher starts on every node):"
  count_commands "$out/where_billing.log" "$(pids_of "$out/where_billing.log" call 'duration: .*backout\.run_billing\(')"
  echo "   undo_job_schedule + wait_for_batch: ${undo_ms} ms (the batch itself: $(grep -aoE "undo batch [0-9a-f-]+ of client $c COMPLETED in [0-9]+ ms" "$out/where_undo.log" | awk '{print $(NF-1)}') ms); commands issued:"
  count_commands "$out/where_undo.log" "$(pids_of "$out/where_undo.log" call 'duration: .*(backout\.undo_job_schedule\(|wait_for_batch\()') $(pids_of "$out/where_undo.log" runner "undo batch [0-9a-f-]+ of client $c started")"
fi

# ---------------------------------------------------------------------------------------------------------
batch_times
report_args=(-v results="$out/results.txt" -v batches="$out/batches.txt")
[ "$scale_records" -gt 0 ] && report_args+=(-v scale=1)
cat bench/citus_report.sql | q "$coord" -d postgres -q -P format=aligned -P tuples_only=off "${report_args[@]}" \
  || fail "the report"
echo
echo "(ms: medians of $reps repetitions for section 1, of $scale_rounds rounds for section 2; every step's output is in $out)"
