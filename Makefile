# charlm: `make help` lists the targets. Everything runs inside .venv (made by `make setup`).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python
STAMP := $(VENV)/.installed
ARGS ?=
QUICK ?=
PARAMS ?=
ONLY ?=
FORCE ?=
JOBS ?=
CHROMIUM ?= chromium
KERNEL := $(VENV)/share/jupyter/kernels/charlm/kernel.json

.DEFAULT_GOAL := help
.PHONY: help setup data test test-fast lint default_train custom_train plot_loss diff_temp best_train bench bench_threads bench_compress mix_search report pdf kernel lab clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_%-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv and install charlm (editable) with pinned dependencies
$(STAMP): pyproject.toml
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[report,dist,dev]'
	touch $@

data: setup ## copy the Dickens corpus into data/ and verify its SHA-256 sums (always re-checked)
	$(PYTHON) -m charlm.fetch

# The suite's time and test count go to results/timings.json and the README (not when ARGS picks
# part of the suite); a time that cannot be recorded never fails the target.
test: setup data lint ## the full test suite, as CI runs it; records its time (results/timings.json)
	@echo "$(BIN)/pytest -q $(ARGS)"
	@start=$$(date +%s); junit=$$(mktemp); \
	$(BIN)/pytest -q --junit-xml="$$junit" $(ARGS); status=$$?; \
	if [ $$status -eq 0 ]; then \
	  $(if $(strip $(ARGS)),echo "timings: not recorded (ARGS runs part of the suite)";, \
	  $(PYTHON) -m charlm.timings record test --seconds $$(( $$(date +%s) - start )) \
	    --junit "$$junit" || echo "timings: warning: not recorded";) \
	fi; \
	rm -f "$$junit"; exit $$status

test-fast: setup data lint ## everyday checks: every module, tiny models, no subprocesses or report build (under a minute)
	$(BIN)/pytest -q -m "not slow" $(ARGS)

lint: setup ## pyflakes-level checks of the package, tests and benchmarks (ruff)
	$(BIN)/ruff check --select F --no-cache charlm tests benchmarks

default_train: setup data ## part 4.1: train with the defaults, save runs/default.pt, print BPC (ARGS="--n_epochs 500")
	$(PYTHON) -m charlm --default_train $(ARGS)

custom_train: setup data ## part 4.2: hyperparameter study -> experiment_logs.csv
	$(PYTHON) -m charlm --custom_train $(ARGS)

plot_loss: setup data ## part 4.3: one run per learning rate -> figures/loss_by_lr.png
	$(PYTHON) -m charlm --plot_loss $(ARGS)

diff_temp: setup data ## part 4.4: samples at several temperatures from runs/default.pt
	$(PYTHON) -m charlm --diff_temp $(ARGS)

best_train: setup data ## beyond the coursework: the best model in a 10-minute CPU budget (preset best) -> runs/best.pt
	$(PYTHON) -m charlm --best_train $(ARGS)

bench: setup data ## time charlm.train against the leanest nn.LSTM loop (target: at most 1.10x) and the coursework's per-character loop
	$(PYTHON) benchmarks/bench_train.py $(ARGS)

bench_threads: setup data ## time training with 1 and 2 torch threads, and next to a busy process (target: at most 1.5x idle)
	$(PYTHON) benchmarks/bench_threads.py $(ARGS)

bench_compress: setup data ## charlm compress with the best model on the test files: sizes against code lengths, times, round trips -> results/compress.yaml (ARGS="--round-trips")
	$(PYTHON) benchmarks/bench_compress.py $(ARGS)

mix_search: setup data ## choose the mixer's settings on the validation split with the best model -> results/mix_search.csv and .yaml
	$(PYTHON) benchmarks/mix_search.py $(ARGS)

report: setup data ## build report/report.html, re-executing only out-of-date notebooks, one per core at a time (ONLY=04: just that one; FORCE=1: all; QUICK=1: tiny budgets; JOBS=1: one at a time; PARAMS=file.yaml; ARGS="-p n_epochs 500"); a full build records its time
	CHARLM_PROGRESS=0 $(PYTHON) -m charlm.report $(if $(QUICK),--quick) $(if $(PARAMS),-f $(PARAMS)) $(foreach n,$(ONLY),--only $(n)) $(if $(FORCE),--force) $(if $(JOBS),--jobs $(JOBS)) $(ARGS)

pdf: ## print report/report.html to report/report.pdf with Debian's chromium (runs `make report` first if there is no report)
	@test -f report/report.html || $(MAKE) report
	@command -v $(CHROMIUM) >/dev/null || { echo "make pdf: $(CHROMIUM) not found; install Debian's chromium (apt-get install chromium)" >&2; exit 2; }
	$(CHROMIUM) --headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run \
	  --no-pdf-header-footer --print-to-pdf=report/.report.pdf.tmp "file://$(CURDIR)/report/report.html" 2>/dev/null
	mv report/.report.pdf.tmp report/report.pdf
	@echo "pdf: report/report.pdf"

kernel: $(KERNEL) ## register this venv's Python as the Jupyter kernel "charlm" (inside .venv)
$(KERNEL): $(STAMP)
	$(PYTHON) -m ipykernel install --sys-prefix --name charlm --display-name "Python (charlm)"

lab: setup data $(KERNEL) ## open the notebooks in JupyterLab with the "charlm" kernel and jupyterlab-myst, which shows the {eval} values in the prose (ARGS="--port 8890")
	$(BIN)/jupyter labextension enable --level=sys_prefix jupyterlab-myst >/dev/null
	@$(BIN)/jupyter labextension list 2>&1 | grep -q "jupyterlab-myst.*enabled.*OK" || { echo "make lab: jupyterlab-myst is not enabled and compatible (jupyter labextension list)" >&2; exit 2; }
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(ARGS)

clean: ## remove executed notebooks, cached runs, logs, figures and the report (keeps data/ and .venv)
	rm -rf runs report/executed report/report.html report/report.pdf report/.lock experiment_logs.csv figures/*.png
