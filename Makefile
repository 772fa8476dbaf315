# movielens-als: `make test` and `make report` set everything up on first use.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON  ?= python3
VENV    ?= .venv
DATASET ?= ml-latest-small
MIRROR  ?=

# Inside the conda environment from environment.yml, use it; otherwise a local venv.
ifeq ($(CONDA_DEFAULT_ENV),movielens-als)
  PY        := python
  ENV_STAMP :=
else
  PY        := $(VENV)/bin/python
  ENV_STAMP := $(VENV)/.installed
endif

ifneq ($(strip $(MIRROR)),)
  export MOVIELENS_MIRROR := $(abspath $(MIRROR))
endif

.PHONY: help env test lint format

help:  ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'
	@echo "  variables: DATASET=$(DATASET) MIRROR=<folder with MovieLens releases>"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	touch $@

env: $(ENV_STAMP)  ## create .venv/ and install the package (done by the other targets)

test: $(ENV_STAMP)  ## ruff + the whole test suite (MIRROR=... for real-data tests)
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: $(ENV_STAMP)  ## ruff only
	$(PY) -m ruff check .
	$(PY) -m ruff format --check recsys_helpers tests benchmarks

format: $(ENV_STAMP)  ## apply ruff's fixes and formatting
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format recsys_helpers tests benchmarks
