# Entry points for development, tests and the demo. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
COLLECTIONS := $(CURDIR)/.collections
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PYTHONPATH := $(COLLECTIONS)$(if $(PYTHONPATH),:$(PYTHONPATH))
PYTEST_WORKERS ?= 2
SANDBOX_DIR ?= $(CURDIR)/.sandbox

.PHONY: help setup lint sanity units integration matrix test build demo demo-down bench clean

help:
	@echo "make setup        install Debian packages (as root), .venv, kubernetes.core; safe to re-run"
	@echo "make test         setup + lint + sanity + every pytest suite (what CI runs)"
	@echo "make demo         setup + sandbox + playbooks/pull_secret.yml against it"
	@echo "make lint | sanity | units | integration | matrix | build | bench | clean"

setup:
	@tools/setup.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ansible-lint --offline -q
	$(BIN)/antsibull-changelog lint

sanity: setup
	@tools/sanity.sh

units: setup
	$(BIN)/python -m pytest tests/unit -n $(PYTEST_WORKERS)

integration: setup
	$(BIN)/python -m pytest tests/integration -n $(PYTEST_WORKERS)

# Lowest and newest claimed ansible-core: units + one end-to-end run each (own venvs under .venvs/).
matrix: setup
	@tools/matrix.sh

build: setup
	$(BIN)/ansible-galaxy collection build --force --output-path .cache/build

# Quality gates first (fast failures), then every pytest suite in one session so the last
# line printed is pytest's summary.
test: setup lint sanity matrix
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS)

demo: setup
	@tools/demo.sh "$(SANDBOX_DIR)"

demo-down:
	@tests/sandbox/sandboxctl down --dir "$(SANDBOX_DIR)"

bench: setup
	$(BIN)/python bench/run.py $(if $(QUICK),--quick)

clean:
	-tests/sandbox/sandboxctl down --dir "$(SANDBOX_DIR)" 2>/dev/null
	rm -rf .cache .sandbox tests/output .pytest_cache .ruff_cache bench/results.json
