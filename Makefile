# Two commands do all setup: `make serve` runs lfp, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed

.PHONY: install compile serve test lint typecheck pytest bench bench-processors bench-ingest clean

install: $(STAMP)

# Reinstall when the lockfile or the project metadata change. Bytecode is compiled here:
# where PYTHONDONTWRITEBYTECODE=1 is set, Python would otherwise recompile every module at
# every start (1.6 s instead of 0.7 s before a server or `lfp users` command can begin).
$(STAMP): uv.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --locked --quiet --compile-bytecode
	touch $(STAMP)

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

pytest: compile
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: install
	$(BIN)/python benchmarks/upload.py

bench-processors: install
	$(BIN)/python benchmarks/processors.py

bench-ingest: install
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
