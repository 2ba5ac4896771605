# The two commands of the README, for a fresh machine:
#   make lab    create .venv, install the kit with the "lab" extra, open JupyterLab on notebooks/
#   make test   create .venv, install the kit with the "test" extra, run the whole test suite
# Each (re)installs only when pyproject.toml is newer than the last install (a stamp file in .venv).
# Extra pytest arguments: make test PYTEST_ARGS="-k hashers -x"
# The fast lane, under a minute on 2 cores (no notebooks, browsers or training runs, the tests marked
# slow; see conftest.py): make test PYTEST_ARGS="-m 'not slow'"

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: lab test setup-lab setup-test

# JupyterLab rooted at the repository root, as on Binder, so that the README's URL paths
# (lab/tree/notebooks, voila/render/notebooks/06_draw_and_search.ipynb) are the same here and
# there; it opens on notebooks/. Jupyter refuses to run as root without --allow-root, which is
# added only when the user is root (containers, fresh VMs).
lab: setup-lab
	$(BIN)/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks $(LAB_ALLOW_ROOT)

LAB_ALLOW_ROOT = $(if $(filter 0,$(shell id -u)),--allow-root)

# The unit, CLI and browser tests (tests/) and every notebook under strict nbval, natively; then
# every notebook again as an older CPU computes (see OLD_CPU). Each pass starts from an empty
# lesson-artifacts folder, and both compare against the same stored outputs, so a number that
# depends on the machine fails one of them. The kernel is this venv's Python (--nbval-current-env);
# the sanitizer masks timings, addresses, temp paths.
test: setup-test
	rm -rf $(TEST_ARTIFACTS)
	mkdir -p $(TEST_ARTIFACTS)/native $(TEST_ARTIFACTS)/old-cpu
	DOODLEKIT_ARTIFACTS=$(TEST_ARTIFACTS)/native $(BIN)/python -m pytest tests notebooks $(NBVAL) $(PYTEST_ARGS)
	DOODLEKIT_ARTIFACTS=$(TEST_ARTIFACTS)/old-cpu $(OLD_CPU) $(BIN)/python -m pytest notebooks $(NBVAL) \
		$(PYTEST_ARGS) || [ $$? -eq 5 ]  # 5: PYTEST_ARGS selected no notebook (e.g. -m 'not slow')

NBVAL := --nbval --nbval-current-env --nbval-sanitize-with notebooks/nbval_sanitize.cfg
TEST_ARTIFACTS := $(CURDIR)/test-artifacts/lessons
# An older x86-64 CPU, as far as software can pretend: ATen's and oneDNN's kernels without AVX,
# one thread, MKL's reproducible SSE2 path, OpenBLAS's Nehalem kernels and numpy without its
# AVX2/AVX-512 loops (the dispatch targets this numpy build has, read from numpy itself).
NPY_DISPATCH = $(shell $(BIN)/python -c "import numpy._core._multiarray_umath as m; print(' '.join(m.__cpu_dispatch__))" 2>/dev/null)
OLD_CPU = ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
	MKL_CBWR=COMPATIBLE OPENBLAS_CORETYPE=Nehalem OPENBLAS_NUM_THREADS=1 NPY_DISABLE_CPU_FEATURES="$(NPY_DISPATCH)"

setup-lab: $(VENV)/.installed-lab
setup-test: $(VENV)/.installed-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e ".[$*]"
	touch $@
