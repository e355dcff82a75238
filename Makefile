# Two commands for users: `make report` and `make test`. Both bootstrap .venv first.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export MPLBACKEND := Agg
export PYTHONHASHSEED := 0

.PHONY: help env test report lab sample lock bench sweep clean

help:
	@echo "make report   generate a world and write reports/<run-id>/ (report.html, notebooks, manifest)"
	@echo "make test     lint + the whole test suite (unit, property, notebooks)"
	@echo "make lab      open the notebooks in JupyterLab (widgets included; LAB_ARGS=... for more)"
	@echo "make sample   regenerate the committed sample world datasets/sample/"
	@echo "make bench    every README figure: benchmarks, then scores against the truth (slow)"
	@echo "make sweep    every segmentation method on 20 new random scenarios (slow; SWEEP_ARGS=...)"
	@echo "make lock     re-resolve requirements.lock from pyproject.toml (needs the registry)"

env: $(STAMP)

# Reinstalls only when pyproject.toml or the lock file changed.
$(STAMP): pyproject.toml requirements.lock
	@py=$$(scripts/find-python) || exit 1; \
	if [ ! -x $(BIN)/python ]; then echo "Creating $(VENV) with $$py"; "$$py" -m venv $(VENV) || exit 1; fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $@

test: $(STAMP)
	$(BIN)/ruff check workbench tests benchmarks notebooks
	$(BIN)/ruff format --check workbench tests benchmarks notebooks
	$(BIN)/python -m pytest

report: $(STAMP)
	$(BIN)/workbench report $(if $(CONFIG),--config $(CONFIG))

# JupyterLab on the project, with figures inline: the kernels must not inherit the headless
# MPLBACKEND exported above. --allow-root only where the user is root (containers, CI).
lab: $(STAMP)
	env -u MPLBACKEND $(BIN)/jupyter lab --ServerApp.root_dir=. $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS) notebooks/

sample: $(STAMP)
	$(BIN)/workbench generate --scenario tiny --seed 20261126 --out datasets/sample --overwrite

# Every figure of the README comes from here, on a fresh clone: speed and memory (bench_*.py), then
# the scores against the truth (eval_segment.py, calibration.py, eval_clv.py, eval_strategy.py,
# eval_calibration.py, eval_flows.py, eval_timing.py, eval_engine_segment.py; fresh seeds, never
# used to develop them) with the README's arguments, and real data (real_data.py,
# clv_published.py, real_uplift.py). bench_engine.py generates a 10M world once (cached).
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r benchmarks/requirements.txt
	@echo "== machine: $$(nproc) cores, load average $$(cut -d' ' -f1-3 /proc/loadavg), $$(git rev-parse --short HEAD)"
	@for b in benchmarks/bench_*.py; do echo "== $$b (load $$(cut -d' ' -f1 /proc/loadavg))"; $(BIN)/python $$b || exit 1; done
	@for s in "0 --cadence" 1; do echo "== benchmarks/eval_segment.py --seed $$s --ceiling --unreachable cluster"; \
	  $(BIN)/python benchmarks/eval_segment.py --seed $$s --ceiling --unreachable cluster || exit 1; done
	@echo "== benchmarks/calibration.py --replicates 12"; $(BIN)/python benchmarks/calibration.py --replicates 12
	@echo "== benchmarks/real_data.py (CDNOW, real public data)"; $(BIN)/python benchmarks/real_data.py
	@echo "== benchmarks/clv_published.py (CDNOW sample: published estimates)"; $(BIN)/python benchmarks/clv_published.py
	@echo "== benchmarks/eval_clv.py (customer value against the truth)"; $(BIN)/python benchmarks/eval_clv.py
	@echo "== benchmarks/real_uplift.py (Hillstrom's e-mail test, real public data)"; $(BIN)/python benchmarks/real_uplift.py
	@echo "== benchmarks/eval_strategy.py (the strategy lab on 5 fresh worlds)"; $(BIN)/python benchmarks/eval_strategy.py
	@echo "== benchmarks/eval_calibration.py (calibrated attribution on 8 fresh worlds)"; $(BIN)/python benchmarks/eval_calibration.py
	@echo "== benchmarks/eval_calibration.py --small-holdout 0.2 (the same with 20% holdouts)"; $(BIN)/python benchmarks/eval_calibration.py --small-holdout 0.2
	@echo "== benchmarks/eval_flows.py (flow holdouts against the truth, 6 fresh worlds)"; $(BIN)/python benchmarks/eval_flows.py --seeds 201 202 203 204 205 206
	@echo "== benchmarks/eval_timing.py (send times against the truth, 6 fresh worlds)"; $(BIN)/python benchmarks/eval_timing.py --seeds 201 202 203 204 205 206
	@echo "== benchmarks/eval_engine_segment.py (sample-fit-assign against a full fit, 1M)"; $(BIN)/python benchmarks/eval_engine_segment.py

# The robustness sweep of issue 12: new random scenarios each run (the seed is printed).
sweep: $(STAMP)
	@echo "== machine: $$(nproc) cores, load average $$(cut -d' ' -f1-3 /proc/loadavg), $$(git rev-parse --short HEAD)"
	$(BIN)/python benchmarks/sweep_segment.py --scenarios 20 --ceiling $(SWEEP_ARGS)

lock:
	@py=$$(scripts/find-python) || exit 1; tmp=$$(mktemp -d); \
	"$$py" -m venv $$tmp && $$tmp/bin/python -m pip install --quiet -e ".[dev]" && \
	$$tmp/bin/python -m pip freeze --exclude-editable | grep -v '^-e' | sort -f > requirements.lock; \
	rm -rf $$tmp; echo "requirements.lock: $$(wc -l < requirements.lock) pins"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
