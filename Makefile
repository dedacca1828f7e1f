# Everything a fresh machine needs, from Python 3.11+ and make alone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint format bench bench-quick clean lock soak

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

test: lint  ## lint, then the whole test suite on two workers (under two minutes on two cores)
	$(BIN)/pytest -q -n 2

bench: $(STAMP)  ## the full benchmark (slots, requests, downloads, scale, baselines, a bucket; < 11 min)
	$(BIN)/python benchmarks/run.py

lock: $(STAMP)  ## regenerate requirements.lock (runtime) and requirements-build.lock, hashed, for the image
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
		--custom-compile-command "make lock" --quiet -o requirements.lock
	$(BIN)/python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['build-system']['requires'], sep='\n')" \
		| $(BIN)/uv pip compile - --universal --python-version 3.11 --generate-hashes \
		--custom-compile-command "make lock" --quiet -o requirements-build.lock

soak: $(STAMP)  ## deep fuzzing, 20 SIGKILLs (8 more on S3), a tmpfs that fills up, and the image's install from the lock (PyPI)
	ORCHESTRATOR_TEST_DEPTH=4 $(BIN)/pytest -q -n 2 tests/security tests/core/test_manifest_fuzz.py \
		tests/integration/test_resilience.py tests/integration/test_bucket_resilience.py
	$(BIN)/pytest -q -m soak tests/deploy tests/integration/test_hostile_disk.py

bench-quick: $(STAMP)  ## every benchmark scenario at a reduced size, in under a minute
	$(BIN)/python benchmarks/run.py --quick --json-out benchmarks/results/quick.json

format: $(STAMP)
	$(BIN)/ruff format orchestrator tests benchmarks
	$(BIN)/ruff check --fix orchestrator tests benchmarks

clean:
	rm -rf $(VENV) out .mypy_cache .ruff_cache .pytest_cache .hypothesis
