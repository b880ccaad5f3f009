# Two commands for people (README): `make run` and `make test`. Everything else they
# need is set up on the way: a virtual environment, the package, a browser for tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
HOST ?= 127.0.0.1
INSTALLED := $(VENV)/.installed

.PHONY: run test browser clean

$(INSTALLED): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

## run: a demo on http://127.0.0.1:$(PORT): content published, a run open today, one account per role
run: $(INSTALLED)
	$(BIN)/shooc demo
	@echo "Serving on http://$(HOST):$(PORT) (Ctrl-C stops)"
	$(BIN)/flask --app shooc run --host $(HOST) --port $(PORT)

## test: the whole suite (SQLite; set SHOOC_TEST_DATABASE_URL for PostgreSQL)
test: $(INSTALLED) browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Browser tests drive Debian's Chromium through Playwright (no browser download).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q chromium); \
	  else echo "Chromium is not installed (apt-get install chromium): browser tests will be skipped."; fi; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
