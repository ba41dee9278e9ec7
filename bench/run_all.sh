#!/usr/bin/env bash
# Run every benchmark once, in sequence, printing its figures (`make bench`). Pass --append
# to the scripts by hand to record a run in docs/benchmarks.md. The Black-76 comparison
# runs in its own venv (py_vollib_vectorized pins old releases; see setup_bench_env.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
run() { echo; echo "=== $*"; "$@"; }
run python bench/bench_decode_native.py
run python bench/bench_decode.py
run python bench/bench_features.py
run python bench/bench_scanner_compute.py
run python bench/bench_scanner_cycle.py
run python bench/bench_snapshots.py
run python bench/bench_sim_feed.py --seconds 10
run python bench/bench_sim_history.py
run python bench/bench_kafka.py
run python bench/bench_kafka_hop.py
run python bench/bench_questdb.py
run python bench/bench_pipeline.py
run python bench/bench_gateway_load.py
run python bench/bench_api_keys.py
run python bench/bench_devinfra.py --skip-cold
run python bench/bench_operator.py
run python bench/bench_intent_ack.py
run python bench/bench_exec_trials.py
run python bench/bench_strategy_hop.py
bench_venv="${QUANT_CACHE_DIR:-$HOME/.cache/quant-platform}/bench-venv"
bash bench/setup_bench_env.sh "$bench_venv"
run "$bench_venv/bin/python" bench/bench_greeks.py
