#!/usr/bin/env bash
# The README's test command (`make test`): install, static checks, then every test tier
# against real servers (Kafka, QuestDB, PostgreSQL, a Kubernetes control plane), which
# the test fixtures install and start themselves. Under CI=true a missing server fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
# a crash (also one at interpreter exit, after the last test) prints every thread's stack
export PYTHONFAULTHANDLER=1

echo "== protobuf drift";  python scripts/gen_proto.py --check
echo "== column tables drift"; python scripts/gen_columns.py --check
# one command per line: under `set -e` a failure on the left of `&&` would not stop the run
echo "== ruff";            ruff check .
echo "== ruff format";     ruff format --check .
echo "== mypy --strict";   mypy services/quant operator/quant_operator
echo "== import contracts"; lint-imports
echo "== pytest (unit, integration, conformance, operator, e2e)"
pytest tests "$@"
