#!/usr/bin/env bash
# Benchmark: build and install the release library, run bench/bench.sql in a throwaway cluster, print timings.
. "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"
cargo pgrx install --release --pg-config "$PG_CONFIG" >/dev/null
run_in_cluster psql -X -q -v ON_ERROR_STOP=1 -f bench/bench.sql
