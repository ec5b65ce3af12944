# Two commands for a fresh machine:
#   make lab    set up (if needed) and open the course in JupyterLab
#   make test   set up (if needed), lint, and run every test, notebooks included
# and, for development only: make check (lint and the unit tests, without the notebooks, the quick benchmark, the
# browser, the two-process runs and the shipped models' quality checks; CI runs all of them in make test)
#
# The virtualenv is rebuilt when requirements.txt or pyproject.toml change (keyed on their hash).
# Python 3.11, 3.12 or 3.13 (torch 2.14.1 publishes wheels for each); 3.11 is preferred where present.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV   := .venv
HASH   := $(shell cat requirements.txt pyproject.toml | sha256sum | cut -c1-16)
STAMP  := $(VENV)/.built-$(HASH)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test check lint fmt env bench clean-env

env: $(STAMP)

$(STAMP):
	@echo ">> building $(VENV) from requirements.txt (once; a few minutes)"
	@$(PYTHON) -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 13) else f"diffusion_course needs Python 3.11, 3.12 or 3.13 (found {sys.version.split()[0]}): install one, or run make PYTHON=/path/to/python3.11")'
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet -r requirements.txt
	$(VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

lab: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/jupyter lab --notebook-dir=notebooks $(ROOT_FLAG) $(LAB_ARGS)

test: lint
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(VENV)/bin/python -m pytest --durations=25 $(PYTEST_ARGS)

CHECK_SKIPS := --ignore=tests/test_bench.py --ignore=tests/test_browser.py --ignore=tests/test_pretrained.py \
               --ignore=tests/test_distributed.py --ignore=tests/test_calibration.py

check: lint
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(VENV)/bin/python -m pytest tests $(CHECK_SKIPS) --durations=10 $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check diffusion_course tests notebooks

fmt: $(STAMP)
	$(VENV)/bin/ruff check --fix diffusion_course tests notebooks

bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/python -m diffusion_course bench

clean-env:
	rm -rf $(VENV)
