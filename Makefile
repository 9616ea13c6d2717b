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
# The CDK way (infra/cdk/): aws-cdk-lib, cdk-nag and chalice[cdkv2] are ~500 MB and run on
# Node.js, so they get a virtual environment of their own too.
CDK_VENV ?= .venv-cdk
CDK_STAMP := $(CDK_VENV)/.installed-$(shell cat requirements-cdk.lock | cksum | cut -d' ' -f1)
export AWS_DEFAULT_REGION ?= us-east-1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup demo run test lint typecheck unit package rehearse bench faults audit lock clean checkov checkov-setup \
	cdk-setup cdk-synth node

# $(call install-venv,DIR,LOCK): DIR holds exactly LOCK's pins; the target is the stamp file.
define install-venv
	test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --disable-pip-version-check 'pip==26.2.1'
	$(1)/bin/python -m pip install --quiet --disable-pip-version-check -r $(2)
	rm -f $(1)/.installed-*
	touch $@
endef

$(STAMP): requirements-dev.lock
	$(call install-venv,$(VENV),requirements-dev.lock)

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

unit: setup node  # the CDK way's tests need Node.js: without it, one line and a failure
	$(BIN)/python -m pytest

test: lint typecheck unit  ## every check and every test

package: setup  ## build the single deployable CloudFormation template into build/
	bash infra/package.sh build

rehearse: setup cdk-setup  ## deploy every way on the emulator as documented, check, drive, tear down
	$(BIN)/python -m devtools.rehearse --way all

$(CHECKOV_STAMP): requirements-checkov.lock
	$(call install-venv,$(CHECKOV_VENV),requirements-checkov.lock)

checkov-setup: $(CHECKOV_STAMP)

checkov: package checkov-setup  ## scan the deployable template with checkov (offline)
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation \
		-f build/sam.json -f infra/users-table.yaml

$(CDK_STAMP): requirements-cdk.lock
	$(call install-venv,$(CDK_VENV),requirements-cdk.lock)

node:  ## the CDK runs on Node.js: say so in one line, and fail, where it is missing
	@command -v node >/dev/null || { echo "Node.js is missing: the CDK way needs it (node 20+ on PATH)" >&2; exit 1; }

# The CDK CLI (npm aws-cdk, pinned in infra/cdk/package-lock.json) for cdk bootstrap/deploy/destroy.
CDK_CLI := infra/cdk/node_modules/.package-lock.json
$(CDK_CLI): infra/cdk/package-lock.json
	cd infra/cdk && npm ci --no-audit --no-fund --silent

cdk-setup: node $(CDK_STAMP) $(CDK_CLI)

cdk-synth: cdk-setup  ## synthesize the CDK way (infra/cdk/) into build/cdk.out/, offline, cdk-nag clean
	$(CDK_VENV)/bin/python infra/cdk/app.py

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
	rm -rf $(VENV) .venv-checkov $(CDK_VENV) infra/cdk/node_modules build .pytest_cache .mypy_cache .ruff_cache
