#!/usr/bin/env bash
# Benchmarks: build and install the release library, run bench/<name>.sql in a throwaway cluster each,
# print timings.  Usage: scripts/bench.sh [ingest|ingest_speed|undo|backout|history|usage_history|day_counts|events|billrun|rls_cost|plans]... (default: all but plans).
. "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"
export CLUSTER_TIMEOUT="${CLUSTER_TIMEOUT:-3600}"  # bench/plans.sql alone loads 10M rows and runs ~20 minutes
cargo pgrx install --release --pg-config "$PG_CONFIG" >/dev/null
for name in "${@:-ingest ingest_speed undo backout history usage_history day_counts events billrun}"; do
  for bench in $name; do
    echo "== bench/$bench.sql"
    run_in_cluster psql -X -q -v ON_ERROR_STOP=1 -f "bench/$bench.sql"
  done
done
