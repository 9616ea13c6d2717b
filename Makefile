# users-stream: every target sets itself up (virtual environment + pinned installs) first.
#   make demo   - run the whole pipeline locally on the embedded emulator (no AWS account)
#   make test   - lint, type-check and run every test
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.lock | cksum | cut -d' ' -f1)
# checkov pins its own boto3, so it gets a virtual environment of its own.
CHECKOV_VENV ?= .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell cat requirements-checkov.lock | cksum | cut -d' ' -f1)
export AWS_DEFAULT_REGION ?= us-east-1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup demo run test lint typecheck unit package rehearse bench faults audit lock clean checkov checkov-setup

$(STAMP): requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check 'pip==26.2.1'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	rm -f $(VENV)/.installed-*
	touch $@

setup: $(STAMP)

demo: setup  ## run the pipeline locally: emulator, stack, poller, sample users, emails, build/dashboard.png
	$(BIN)/python -m devtools.demo

run: setup  ## keep the local pipeline running on http://127.0.0.1:8000 (PORT=8001: another port; STATE=FILE: keep the state)
	$(BIN)/python -m devtools.demo --serve --port $(or $(PORT),8000) $(if $(STATE),--state $(STATE)) $(RUN_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/python -m pytest

test: lint typecheck unit  ## every check and every test

package: setup  ## build the single deployable CloudFormation template into build/
	bash infra/package.sh build

rehearse: setup  ## deploy both ways on the emulator as documented, check, drive, tear down
	$(BIN)/python -m devtools.rehearse

$(CHECKOV_STAMP): requirements-checkov.lock
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check 'pip==26.2.1'
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.lock
	rm -f $(CHECKOV_VENV)/.installed-*
	touch $@

checkov-setup: $(CHECKOV_STAMP)

checkov: package checkov-setup  ## scan the deployable template with checkov (offline)
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation \
		-f build/sam.json -f infra/users-table.yaml

bench: setup  ## benchmarks against boto3 and Powertools; writes docs/benchmarks.md
	$(BIN)/python -m benchmarks

faults: setup  ## the full fault-injection run on the local pipeline (5,000 changes, seeded)
	$(BIN)/python -m devtools.faults

audit: setup  ## bandit on the shipped code; pip-audit on the pinned lock (needs PyPI's JSON API)
	$(BIN)/bandit -q -r app.py chalicelib
	$(BIN)/pip-audit --strict --no-deps --progress-spinner off -r requirements-dev.lock

lock:  ## re-resolve requirements-dev.txt into requirements-dev.lock
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet 'pip==26.2.1' && .venv-lock/bin/python -m pip install --quiet -r requirements-dev.txt
	.venv-lock/bin/python -m pip freeze --exclude pip > requirements-dev.lock && rm -rf .venv-lock

clean:
	rm -rf $(VENV) .venv-checkov build .pytest_cache .mypy_cache .ruff_cache
