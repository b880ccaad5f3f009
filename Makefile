# Two commands for people (README): `make run` and `make test`. Everything else they
# need is set up on the way: a virtual environment, the package, a browser for tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
HOST ?= 127.0.0.1
# What serving needs (make run), then the test, benchmark and lint tools on top (make test)
SERVE_INSTALLED := $(VENV)/.installed-serve
INSTALLED := $(VENV)/.installed
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# 1EdTech's Open Badges validator, in a virtual environment of its own (its pins clash with ours)
OB_VENV := .venv-openbadges
OB_REQUIREMENTS := tests/openbadges-requirements.txt
OB_INSTALLED := $(OB_VENV)/.installed

.PHONY: run test screenshots lint bench profile bench-portfolio bench-credentials browser axe vc openbadges clean

$(SERVE_INSTALLED): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	touch $@

$(INSTALLED): $(SERVE_INSTALLED)
	$(PIP) -e '.[test,bench,lint]'
	touch $@

## run: a demo on http://127.0.0.1:$(PORT): content published, a run open today, one account per role
run: $(SERVE_INSTALLED)
	$(BIN)/shooc demo
	@echo "Serving on http://$(HOST):$(PORT) (Ctrl-C stops)"
	$(BIN)/flask --app shooc run --host $(HOST) --port $(PORT)

## test: the whole suite on every core (SQLite; set SHOOC_TEST_DATABASE_URL for PostgreSQL,
## each worker then gets a database of its own beside it: test_gw0, test_gw1...). Each file
## runs in one worker: module fixtures (two app servers, a site visited page by page) are
## made once, and a fixed database such as shooc_multiserver has one user at a time.
TEST_WORKERS ?= auto
test: $(INSTALLED) browser axe vc openbadges
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

## screenshots: the browser journeys again, writing every page they visit as PNGs, at
## desktop and phone width, into tests/output/screenshots/ (for people to look at)
screenshots: $(INSTALLED) browser axe
	SHOOC_SCREENSHOTS=1 $(BIN)/python -m pytest -p no:xdist -m browser $(PYTEST_ARGS)

## lint: the static checks CI runs: the import layers (import-linter's contracts in setup.cfg),
## ruff (pyproject.toml) and mypy's types ([mypy] in setup.cfg)
lint: $(INSTALLED)
	$(BIN)/lint-imports
	$(BIN)/ruff check shooc
	$(BIN)/mypy

## bench: the benchmarks in bench/ (tables printed and written to bench/results/), on
## SQLite and on the PostgreSQL database SHOOC_BENCH_DATABASE_URL, which they empty
## (the local one by default; SHOOC_BENCH_DATABASE_URL= measures SQLite alone)
SHOOC_BENCH_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/shooc_bench
export SHOOC_BENCH_DATABASE_URL
BENCH_RESULTS := generate records_import stats events portfolio pages surge
bench: $(INSTALLED) wrk
	$(BIN)/python bench/generate.py
	$(BIN)/python bench/records_import.py
	$(BIN)/python bench/stats.py
	$(BIN)/python bench/events.py
	$(BIN)/python bench/portfolio.py
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/surge.py
	@echo; echo "== every figure, next to its goal (bench/results/)"; \
	for name in $(BENCH_RESULTS); do echo; cat bench/results/$$name.txt; done

## bench-portfolio: the portfolio PDF alone, next to the certificate PDF (bench/results/portfolio.txt)
bench-portfolio: $(INSTALLED)
	$(BIN)/python bench/portfolio.py

## bench-credentials: the time to sign and to verify an Open Badges 3.0 credential, median of N
## (bench/credentials.py; bench/results/credentials.txt)
bench-credentials: $(INSTALLED)
	$(BIN)/python bench/credentials.py

## profile: where the benchmarked pages' time goes (bench/profile.py; bench/results/profile.txt)
profile: $(INSTALLED)
	$(BIN)/python bench/profile.py

# bench/pages.py loads the pages with Debian's wrk (installed here when missing and run as root).
.PHONY: wrk
wrk:
	@if ! command -v wrk >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y -q wrk >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q wrk); \
	  else echo "wrk is not installed (apt-get install wrk): bench/pages.py will stop with that message."; fi; \
	fi

# Browser tests drive Debian's Chromium through Playwright (no browser download).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q chromium); \
	  else echo "Chromium is not installed (apt-get install chromium): browser tests will be skipped."; fi; \
	fi

# axe-core, which tests/test_accessibility.py injects into every page, from the npm registry:
# exactly the version in tests/a11y/package-lock.json, installed again whenever that changes.
# Without npm the accessibility tests skip (they fail when SHOOC_REQUIRE_BROWSER=1, as in CI).
AXE := tests/a11y/node_modules/axe-core/axe.min.js
axe:
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory $(AXE); \
	else echo "npm is not installed: the accessibility tests will be skipped."; fi

$(AXE): tests/a11y/package.json tests/a11y/package-lock.json
	cd tests/a11y && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Digital Bazaar's verifiable credential libraries, which tests/test_credentials.py runs
# (tests/vc/verify.mjs) on our Open Badges 3.0 credentials: exactly the versions in
# tests/vc/package-lock.json. Without npm those tests skip (they fail in CI).
VC := tests/vc/node_modules/@digitalbazaar/vc/package.json
vc:
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory $(VC); \
	else echo "npm is not installed: the Open Badges 3.0 verifier tests will be skipped."; fi

$(VC): tests/vc/package.json tests/vc/package-lock.json
	cd tests/vc && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The validator that tests/test_badge_conformance.py runs on our badges: made anew, from
# exactly the pinned list (--no-deps), whenever that list changes.
openbadges: $(OB_INSTALLED)

$(OB_INSTALLED): $(OB_REQUIREMENTS)
	rm -rf $(OB_VENV)
	$(PYTHON) -m venv $(OB_VENV)
	$(OB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(OB_VENV)/bin/python -m pip install --quiet --no-deps -r $(OB_REQUIREMENTS)
	$(OB_VENV)/bin/python -c 'import openbadges'
	touch $@

clean:
	rm -rf $(VENV) $(OB_VENV) tests/a11y/node_modules .pytest_cache build *.egg-info
