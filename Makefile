# Alliance Ledger: the two commands are `make up` (run the product) and `make test` (run the tests).
# Both install what they need first from the pinned locks (requirements.lock, package-lock.json).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= $(CURDIR)/.alliance
PYTEST_ARGS ?=

.PHONY: setup up test contracts lock clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## Start the product on its embedded default: anvil node, SQLite, gateway on 127.0.0.1.
up: setup
	@test -f "$(DATA)/config.toml" || $(BIN)/alliance --data-dir "$(DATA)" init
	$(BIN)/alliance --data-dir "$(DATA)" up

## Run the whole test suite on both cores. pytest's exit 5 (no tests collected) is a failure.
test: setup
	@set +e; $(BIN)/python -m pytest -n 2 $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

## Rebuild contracts/build from contracts/src (needs the npm solc package: make setup).
contracts: setup
	$(BIN)/python scripts/compile_contracts.py

lock:
	(head -2 requirements.lock; $(BIN)/pip freeze --exclude-editable | grep -vi "^alliance") > requirements.lock.new && mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) node_modules
