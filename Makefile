# Two commands do all setup: `make serve` runs lfp, `make test` runs every check.
PYTHON ?= python3
# The slowest tests are listed at the end of every run, to see where the time goes.
PYTEST_ARGS ?= --durations=30
# Test processes for the suite outside the browser (pytest-xdist; most tests wait on
# servers, so two share two cores well). Each test file stays in one process (loadfile):
# a file's tests share its servers and fixtures. 0 runs it all in this process.
PYTEST_WORKERS ?= 2
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed
# The web pages' bundles, built from web/ by npm (Node.js and npm must be installed).
WEB_STAMP := src/lfp/web/static/dist/.built
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) web/build.mjs web/package.json web/package-lock.json
# The browser the UI tests drive: Debian's chromium (never a browser Playwright downloads).
CHROMIUM := /usr/bin/chromium

.PHONY: install web browser compile serve test lint typecheck pytest bench bench-peers bench-processors bench-ingest bench-startup clean

install: $(STAMP) web

# Reinstall when the lockfile or the project metadata change. Bytecode is compiled here:
# where PYTHONDONTWRITEBYTECODE=1 is set, Python would otherwise recompile every module at
# every start (1.6 s instead of 0.7 s before a server or `lfp users` command can begin).
$(STAMP): uv.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --locked --quiet --compile-bytecode
	touch $(STAMP)

web: $(WEB_STAMP)

# Rebuilt when a page's source, the lockfile or the build script changes.
$(WEB_STAMP): $(WEB_SOURCES)
	cd web && npm ci --no-audit --no-fund --loglevel=error && node build.mjs

# Debian's packages the tests need: chromium for the browser tests, jq for the README's
# snippets (tests/integration/test_readme.py runs them as written).
browser:
	test -x $(CHROMIUM) && command -v jq >/dev/null || { \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y --no-install-recommends chromium jq >/dev/null 2>&1 || \
	  { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium jq; }; }

# lfp's own modules, compiled again whenever they change (cheap: only changed files).
compile: install
	$(BIN)/python -m compileall -q src

serve: compile
	$(BIN)/lfp serve $(ARGS)

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

# The browser tests run on their own, after the rest: Playwright's sync API keeps an event
# loop running in its process, under which the other tests' asyncio.run cannot start.
pytest: compile browser
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --ignore=tests/browser $(PYTEST_ARGS)
	$(BIN)/pytest tests/browser $(PYTEST_ARGS)

test: lint typecheck pytest

bench: install
	$(BIN)/python benchmarks/upload.py
	$(BIN)/python benchmarks/peers.py --small

# lfp beside copyparty (u2c) and @tus/server (tus-js-client); the peers are installed into
# benchmarks/.peers/ by the benchmark itself, never as dependencies of lfp.
bench-peers: install
	$(BIN)/python benchmarks/peers.py --small $(ARGS)

bench-processors: install
	$(BIN)/python benchmarks/processors.py

bench-ingest: install
	$(BIN)/python benchmarks/ingest.py

bench-startup: install
	$(BIN)/python benchmarks/startup.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
