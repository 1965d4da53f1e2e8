VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench fuzz clean

# `make run` installs what serving needs (with PostgreSQL support); `make install`, and every
# target that tests or measures, adds the development tools on top.
SERVE_STAMP := $(VENV)/.installed-serve

install: $(STAMP)

$(BIN)/pip:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): setup.cfg pyproject.toml | $(BIN)/pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP) $(SERVE_STAMP)

$(SERVE_STAMP): setup.cfg pyproject.toml | $(BIN)/pip
	$(BIN)/pip install --quiet -e '.[postgres]'
	touch $(SERVE_STAMP)

run: $(SERVE_STAMP)
	$(BIN)/milestones serve --create

# Two processes share the tests, a file each at a time (its module-wide servers start once);
# the tests marked serial bound how long something takes, so they run afterwards, alone.
test: install
	$(BIN)/pytest -n 2 --dist loadfile -m "not serial"
	$(BIN)/pytest -m serial

fuzz: install
	MILESTONES_FUZZ_EXAMPLES=5000 MILESTONES_FUZZ_SEED=random $(BIN)/pytest tests/integration/test_fuzz.py -s

bench: install
	$(BIN)/python -m bench

# The OpenAPI linters run through npx (Node.js); pinned so that a new rule cannot break the build.
REDOCLY := @redocly/cli@2.77.0
SPECTRAL := @stoplight/spectral-cli@6.16.3
OPENAPI_JSON := var/openapi.json

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo
	mkdir -p var
	$(BIN)/python -c 'import sys, orjson; from adapters.contract.openapi import openapi_document; \
		sys.stdout.buffer.write(orjson.dumps(openapi_document()))' > $(OPENAPI_JSON)
	npx --yes $(REDOCLY) lint --extends recommended $(OPENAPI_JSON)
	npx --yes $(SPECTRAL) lint --ruleset .spectral.yaml --fail-severity warn $(OPENAPI_JSON)

clean:
	rm -rf $(VENV) var *.egg-info
