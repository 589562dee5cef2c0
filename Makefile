# Alliance Ledger: the two commands are `make up` (run the product) and `make test` (run the tests).
# Both install what they need first from the pinned locks (requirements.lock, package-lock.json).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= $(CURDIR)/.alliance
PYTEST_ARGS ?=

.PHONY: setup up test contracts lock clean browser

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.lock pyproject.toml setup.py gateway/documents/_keccak.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## The browser tests (tests/web) drive Debian's chromium through Playwright (no browser download); a CJK
## font makes their screenshots readable. Installed with apt-get when missing and we are root.
APT_BROWSER := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei
browser:
	@if [ -x /usr/bin/chromium ] && { ! command -v fc-list >/dev/null || fc-list :lang=zh | grep -q .; }; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "make setup: installing Debian's chromium and a CJK font for the browser tests (tests/web)"; \
	  $(APT_BROWSER) >/dev/null 2>&1 || { apt-get update -qq && $(APT_BROWSER) >/dev/null; }; \
	elif [ -x /usr/bin/chromium ]; then \
	  echo "make setup: no CJK font: browser test screenshots will show boxes (sudo apt-get install fonts-wqy-microhei)"; \
	else \
	  echo "make setup: no /usr/bin/chromium and not root: the browser tests (tests/web) will be skipped;" \
	       "install it with: sudo apt-get install chromium fonts-wqy-microhei"; \
	fi

## Start the product on its embedded default: anvil node, SQLite, gateway on 127.0.0.1.
up: setup
	@test -f "$(DATA)/config.toml" || $(BIN)/alliance --data-dir "$(DATA)" init
	$(BIN)/alliance --data-dir "$(DATA)" up

## Run the whole test suite on both cores. pytest's exit 5 (no tests collected) is a failure.
test: setup browser
	@set +e; $(BIN)/python -m pytest -n 2 $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

## Rebuild contracts/build from contracts/src (needs the npm solc package: make setup).
contracts: setup
	$(BIN)/python scripts/compile_contracts.py

lock:
	(head -2 requirements.lock; $(BIN)/pip freeze --exclude-editable | grep -vi "^alliance") > requirements.lock.new && mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) node_modules
