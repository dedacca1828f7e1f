# Everything a fresh machine needs, from Python 3.11+ and make alone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)  ## create .venv and install the tool with its dev tools

demo: $(STAMP)  ## run the bundled jobs.yaml against the embedded fake API, into ./out
	$(BIN)/orchestrator demo

lint: $(STAMP)  ## ruff and mypy --strict
	$(BIN)/ruff check orchestrator tests benchmarks
	$(BIN)/ruff format --check orchestrator tests benchmarks
	$(BIN)/mypy

test: lint  ## lint, then the whole test suite
	$(BIN)/pytest -q

bench: $(STAMP)  ## throughput and memory of a 1,000-job run against the fake (not a test)
	$(BIN)/python benchmarks/run.py

format: $(STAMP)
	$(BIN)/ruff format orchestrator tests benchmarks
	$(BIN)/ruff check --fix orchestrator tests benchmarks

clean:
	rm -rf $(VENV) out .mypy_cache .ruff_cache .pytest_cache .hypothesis
