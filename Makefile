# The two commands of the README, for a fresh machine:
#   make lab    create .venv, install the kit with the "lab" extra, open JupyterLab on notebooks/
#   make test   create .venv, install the kit with the "test" extra, run the whole test suite
# Each (re)installs only when pyproject.toml is newer than the last install (a stamp file in .venv).
# Extra pytest arguments: make test PYTEST_ARGS="-k hashing -x"

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: lab test setup-lab setup-test

lab: setup-lab
	$(BIN)/jupyter lab notebooks

# One pytest run: the unit, CLI and browser tests (tests/) and every notebook under strict nbval.
# The kernel is this venv's Python (--nbval-current-env); the sanitizer masks timings, addresses, temp paths.
test: setup-test
	$(BIN)/python -m pytest tests notebooks \
		--nbval --nbval-current-env --nbval-sanitize-with notebooks/nbval_sanitize.cfg $(PYTEST_ARGS)

setup-lab: $(VENV)/.installed-lab
setup-test: $(VENV)/.installed-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e ".[$*]"
	touch $@
