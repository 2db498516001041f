# charlm: `make help` lists the targets. Everything runs inside .venv (made by `make setup`).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python
STAMP := $(VENV)/.installed
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup data test default_train custom_train plot_loss diff_temp bench clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_%-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv and install charlm (editable) with pinned dependencies
$(STAMP): pyproject.toml
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[report,dist,dev]'
	touch $@

data: setup ## copy the Dickens corpus into data/ and verify its SHA-256 sums (always re-checked)
	$(PYTHON) -m charlm.fetch

test: setup data ## run the test suite (a few minutes on 2 cores)
	$(BIN)/pytest -q $(ARGS)

default_train: setup data ## part 4.1: train with the defaults, save runs/default.pt, print BPC (ARGS="--n_epochs 500")
	$(PYTHON) -m charlm --default_train $(ARGS)

custom_train: setup data ## part 4.2: hyperparameter study -> experiment_logs.csv
	$(PYTHON) -m charlm --custom_train $(ARGS)

plot_loss: setup data ## part 4.3: one run per learning rate -> figures/loss_by_lr.png
	$(PYTHON) -m charlm --plot_loss $(ARGS)

diff_temp: setup data ## part 4.4: samples at several temperatures from runs/default.pt
	$(PYTHON) -m charlm --diff_temp $(ARGS)

bench: setup data ## time the training step against the per-character loop of the coursework
	$(PYTHON) benchmarks/bench_train.py $(ARGS)

clean: ## remove executed notebooks, cached runs, logs, figures and the report (keeps data/ and .venv)
	rm -rf runs report/executed report/report.html report/report.pdf report/.lock experiment_logs.csv figures/*.png
