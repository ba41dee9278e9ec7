# One entry per task. `make test` is the README's test command; `make run` starts the platform.
PY ?= .venv/bin/python
export PATH := $(CURDIR)/.venv/bin:$(PATH)

.PHONY: install run test lint fmt typecheck imports proto proto-check columns columns-check unit integration operator-tests conformance bench infra-up infra-down infra-status

install:            ## create .venv and install the package with dev tools
	bash scripts/bootstrap.sh

run: install        ## the whole platform in one process on http://127.0.0.1:8080
	quant up

test:               ## everything CI runs: install, checks, all test tiers against real servers
	bash scripts/test.sh

lint: install
	ruff check .
	ruff format --check .

fmt: install
	ruff check --fix .
	ruff format .

typecheck: install
	mypy services/quant operator/quant_operator

imports: install
	lint-imports

proto: install
	$(PY) scripts/gen_proto.py

proto-check: install
	$(PY) scripts/gen_proto.py --check

columns: install    ## regenerate services/quant/store/tables.py from quant.core.events
	$(PY) scripts/gen_columns.py

columns-check: install
	$(PY) scripts/gen_columns.py --check

unit: install
	pytest tests/unit

integration: install
	pytest tests/integration

operator-tests: install
	pytest tests/operator

conformance: install
	pytest tests/conformance

bench: install
	bash bench/run_all.sh

infra-up: install
	quant dev infra up

infra-down: install
	quant dev infra down

infra-status: install
	quant dev infra status
