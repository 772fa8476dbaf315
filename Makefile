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

.PHONY: help env test lint format hooks test-browser browser-deps app

help:  ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  make %-17s %s\n", $$1, $$2}'
	@echo "  variables: DATASET=$(DATASET) MIRROR=<folder with MovieLens releases> SMOKE=True SCALE=0.2"
	@echo "             GRID=auto|smoke|small|full CG_STEPS=<conjugate-gradient steps, e.g. 3>"
	@echo "             MAX_RATINGS=auto|<ratings of the notebooks' user sample; 0: all>"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	touch $@

env: $(ENV_STAMP)  ## create .venv/ and install the package (done by the other targets)

test: $(ENV_STAMP)  ## ruff + the whole test suite (MIRROR=... for real-data tests)
	$(PY) -m ruff check .
	$(PY) -m pytest

# The browser test drives the system's Chromium (Debian packages chromium, chromium-driver);
# `make test` skips it, saying so, when they are missing. SCREENSHOT=docs/app.png keeps its
# screenshot of the page.
SCREENSHOT ?=
BROWSER_DEBS := chromium chromium-driver

browser-deps:  ## install Chromium and chromedriver (apt-get, with sudo when not root)
	@if command -v chromedriver >/dev/null && \
	  { command -v chromium >/dev/null || command -v chromium-browser >/dev/null; }; then exit 0; fi; \
	if command -v apt-get >/dev/null; then \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends $(BROWSER_DEBS); \
	else \
	  echo "browser-deps: install Chromium and chromedriver with your package manager"; exit 1; \
	fi

test-browser: $(ENV_STAMP) browser-deps  ## install Chromium if needed, run the browser tests
	RECSYS_APP_SCREENSHOT=$(if $(SCREENSHOT),$(abspath $(SCREENSHOT))) \
	  $(PY) -m pytest -m browser tests/test_app_browser.py

# The live recommender: fits the default model on DATASET once, then serves it.
MODEL ?= data/models/$(DATASET).npz
HOST  ?= 127.0.0.1
PORT  ?= 8000
WORKERS ?= 1

$(MODEL): | $(ENV_STAMP)
	@mkdir -p $(dir $@)
	$(PY) -m recsys_helpers fit --dataset $(DATASET) --save $@

app: $(ENV_STAMP) $(MODEL)  ## serve the web app on http://127.0.0.1:8000 (MODEL=, HOST=, PORT=, WORKERS=)
	$(PY) -m recsys_helpers serve --model $(MODEL) --dataset $(DATASET) --host $(HOST) --port $(PORT) --workers $(WORKERS)

lint: $(ENV_STAMP)  ## ruff only
	$(PY) -m ruff check .
	$(PY) -m ruff format --check recsys_helpers tests benchmarks

hooks: $(ENV_STAMP)  ## install the pre-commit hooks (ruff check, ruff format, nbstripout)
	$(PY) -m pre_commit install

format: $(ENV_STAMP)  ## apply ruff's fixes and formatting
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format recsys_helpers tests benchmarks

# ---------------------------------------------------------------------------------------
# REPORT: notebooks/NN_*.ipynb -> report/NN_*.ipynb (papermill) -> report/index.html,
# report/report.pdf and report/headline.md. A new notebook is picked up by its file name.
# Variables: DATASET=ml-latest-small  MIRROR=<folder>  SMOKE=True (tiny, fast parameters)
# GRID=auto|smoke|small|full (size of the notebooks' grids; auto: by the number of ratings)
# CG_STEPS=3 (conjugate-gradient half-steps instead of exact solves, in notebooks that fit)
# MAX_RATINGS=auto|N|0 (notebooks 02-09 study a seeded sample of users holding at most N
# ratings; auto: 2 M for releases above 2 M ratings, every rating below; 0: every rating)
# Each notebook's wall time goes to report/timings.json and report/headline.md.
# ---------------------------------------------------------------------------------------
SMOKE       ?= False
GRID        ?= auto
CG_STEPS    ?=
MAX_RATINGS ?= auto
KERNEL      ?= python3
KERNEL_NAME := movielens-als
NOTEBOOKS   := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
EXECUTED    := $(NOTEBOOKS:notebooks/%=report/%)
PACKAGE_SRC := $(shell find recsys_helpers -name '*.py' -not -path '*/__pycache__/*')
REPORT_PY   := $(PY) -m recsys_helpers.report
TEX_DEBS    := pandoc texlive-xetex texlive-fonts-recommended texlive-plain-generic lmodern \
               poppler-utils

.PHONY: report report-notebooks report-deps lab kernel clean-report FORCE

report: report/index.html report/report.pdf report/headline.md  ## run the notebooks; HTML, PDF, metrics

report-notebooks: $(EXECUTED)  ## run the notebooks only (report/NN_*.ipynb)

# Re-run every notebook when a variable below changes (the file is rewritten only then).
report/.parameters: FORCE
	@mkdir -p report
	@echo "dataset=$(DATASET) smoke=$(SMOKE) mirror=$(MOVIELENS_MIRROR) kernel=$(KERNEL)" \
	  "grid=$(GRID) cg_steps=$(CG_STEPS) max_ratings=$(MAX_RATINGS)" > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

# One notebook: written to a temporary name and renamed on success; a failing cell stops
# the build with its error (the partial run is kept as report/NN_*.failed.ipynb). `-o` values
# go only to notebooks whose parameters cell declares them.
NOTEBOOK_PARAMETERS = -p dataset $(DATASET) -p smoke $(SMOKE) \
  -o grid $(GRID) -o max_ratings $(MAX_RATINGS)$(if $(strip $(CG_STEPS)), -o cg_steps $(CG_STEPS))
report/%.ipynb: notebooks/%.ipynb $(PACKAGE_SRC) report/.parameters $(ENV_STAMP)
	$(REPORT_PY) run $< $@ -k $(KERNEL) $(NOTEBOOK_PARAMETERS)

# Notebooks run in number order: each waits for the one before (without re-running it).
$(foreach pair,$(join $(addsuffix :|,$(wordlist 2,$(words $(EXECUTED)),$(EXECUTED))),\
  $(filter-out $(lastword $(EXECUTED)),$(EXECUTED))),$(eval $(subst :|,: | ,$(pair))))

report/headline.md: $(EXECUTED)
	$(REPORT_PY) metrics $(EXECUTED)

report/index.html: $(EXECUTED)
	@$(PY) -c 'import jupyter_server_mathjax' 2>/dev/null || $(MAKE) --no-print-directory report-deps
	$(REPORT_PY) html $@ $(EXECUTED)

report/report.pdf: $(EXECUTED)
	@command -v xelatex >/dev/null && command -v pandoc >/dev/null || \
	  $(MAKE) --no-print-directory report-deps
	$(REPORT_PY) pdf $@ $(EXECUTED)

# pandoc + xelatex for the PDF, pdftotext for the test that reads it back (apt-get on
# Debian/Ubuntu), and MathJax for offline HTML. With conda instead:
#   conda install -c conda-forge pandoc texlive-core poppler jupyter-server-mathjax
report-deps: $(ENV_STAMP)  ## install what the report needs (pandoc, xelatex, pdftotext, MathJax)
	@$(PY) -c 'import jupyter_server_mathjax' 2>/dev/null || \
	  $(PY) -m pip install --quiet jupyter-server-mathjax
	@if command -v xelatex >/dev/null && command -v pandoc >/dev/null && \
	  command -v pdftotext >/dev/null; then exit 0; fi; \
	if command -v apt-get >/dev/null; then \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends $(TEX_DEBS); \
	else \
	  echo "report-deps: install pandoc, xelatex and pdftotext, e.g." \
	       "conda install -c conda-forge pandoc texlive-core poppler"; exit 1; \
	fi

kernel: $(ENV_STAMP)  ## register the Jupyter kernel "movielens-als" inside the environment
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL_NAME) \
	  --display-name "Python ($(KERNEL_NAME))"

lab: kernel  ## JupyterLab on notebooks/ with the project's kernel
	$(PY) -m jupyter lab --notebook-dir=notebooks

clean-report:  ## delete executed notebooks, rendered report, metrics and figures
	find report figures -mindepth 1 ! -name .gitkeep -delete 2>/dev/null || true

# ---------------------------------------------------------------------------------------
# BENCHMARKS against LensKit, scikit-surprise and Spark MLlib, in their own venv (kept out
# of `make test` and CI). SCALE=0.2 for a quick run of the speed comparison.
# ---------------------------------------------------------------------------------------
BENCH_VENV := .venv-bench
BENCH_PY   := $(BENCH_VENV)/bin/python
SCALE      ?= 1

.PHONY: bench-env bench bench-accuracy bench-speed bench-sweep bench-data bench-test bench-app
.PHONY: bench-temporal bench-bayes

$(BENCH_VENV)/.installed: pyproject.toml benchmarks/setup_bench_env.sh
	PYTHON=$(PYTHON) bash benchmarks/setup_bench_env.sh
	touch $@

bench-env: $(BENCH_VENV)/.installed  ## venv with the peer libraries (torch CPU, LensKit, Surprise, Spark, myFM, cmfrec)

bench-accuracy: $(BENCH_VENV)/.installed  ## RMSE/MAE of ours and the peers on ml-latest-small
	$(BENCH_PY) -m benchmarks.bench_accuracy

bench-speed: $(BENCH_VENV)/.installed  ## s/epoch and peak memory at ML-25M shape, ours vs peers
	$(BENCH_PY) -m benchmarks.bench_speed --scale $(SCALE) --repeats 3 --epochs 3 \
	  --spark-repeats 1 --spark-memory 16g

bench-sweep: $(ENV_STAMP)  ## our sweep against K and data size; NumPy vs numba
	$(PY) -m benchmarks.bench_sweep --scale $(SCALE) --factors 16 32 64 128 \
	  --size-scales 0.04 0.2 --cg-steps 3

bench-bayes: $(ENV_STAMP)  ## Gibbs samples/s against K and Gibbs sample / ALS sweep, same run
	$(PY) -m benchmarks.bench_bayes --scale $(SCALE) --factors 16 32 64 --sweeps 3 --repeats 2

bench-data: $(ENV_STAMP)  ## CSV parse, parquet reload and RatingMatrix build at ML-25M shape
	$(PY) -m benchmarks.bench_data --scale $(SCALE)

bench-app: $(ENV_STAMP)  ## load test of the web app: 8 clients, 2 server workers, 20 s on 127.0.0.1
	$(PY) -m benchmarks.bench_app --clients 8 --seconds 20

bench-temporal: $(ENV_STAMP)  ## time-aware biases: ablation on a random and a last-10 split
	$(PY) -m benchmarks.bench_temporal

bench: bench-accuracy bench-speed bench-sweep bench-bayes bench-data  ## every benchmark (about 1 h)

bench-test: $(BENCH_VENV)/.installed  ## tests of the benchmark adapters (not in CI)
	$(BENCH_PY) -m pytest benchmarks/test_peers.py -q
