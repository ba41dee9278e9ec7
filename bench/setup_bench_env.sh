#!/usr/bin/env bash
# Build the separate venv bench/bench_greeks.py runs in: py_vollib_vectorized 0.1.1 only works
# beside py_vollib==1.0.1 and py_lets_be_rational==1.0.1 (newer releases break its numba code),
# so it cannot live in the project's venv. Our package goes in with --no-deps (it only needs
# numpy for the analytics). Usage: bench/setup_bench_env.sh [venv-dir]
set -euo pipefail
VENV="${1:-${HOME}/.cache/quant-platform/bench-venv}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
if [ ! -x "${VENV}/bin/python" ]; then
    "${PYTHON}" -m venv "${VENV}"
fi
"${VENV}/bin/pip" install --quiet --upgrade pip
"${VENV}/bin/pip" install --quiet \
    "numpy>=2.0" numba "py_vollib==1.0.1" "py_lets_be_rational==1.0.1" \
    "py_vollib_vectorized==0.1.1" pandas scipy
"${VENV}/bin/pip" install --quiet --no-deps -e "${ROOT}"
echo "bench venv ready: ${VENV}/bin/python"
