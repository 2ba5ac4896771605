"""Shared test fixtures.

Tests read real Quick, Draw! data from the offline mirror in ``../shared`` (or wherever
``DOODLEKIT_DATA`` points). Missing data is a failure, never a skip: CI must have it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DOODLEKIT_SHARED", ROOT.parent / "shared")).resolve()
MIRROR = Path(os.environ.get("DOODLEKIT_DATA", SHARED / "quickdraw")).resolve()
WORDVECTORS = SHARED / "wordvectors"

if not (MIRROR / "numpy_bitmap").is_dir():
    raise pytest.UsageError(
        f"the offline Quick, Draw! mirror is missing: {MIRROR}/numpy_bitmap does not exist. "
        "Point DOODLEKIT_DATA at a mirror laid out like the bucket (CI uses ../shared/quickdraw)."
    )
os.environ["DOODLEKIT_DATA"] = str(MIRROR)


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The read-only local mirror laid out like the public bucket."""
    return MIRROR


@pytest.fixture(scope="session")
def wordvectors_dir() -> Path:
    """Folder of the word2vec-format label-vector files in ``../shared``."""
    return WORDVECTORS


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test writes its cache into a fresh temp folder, never the user's cache."""
    monkeypatch.setenv("DOODLEKIT_CACHE", str(tmp_path_factory.mktemp("cache")))
