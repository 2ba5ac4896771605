"""Shared test fixtures.

Tests read real Quick, Draw! data from the offline mirror in ``../shared`` (or wherever
``DOODLEKIT_DATA`` points). Missing data is a failure, never a skip: CI must have it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from http_mirror import MirrorServer

from doodlekit.data import http

# Idle OpenMP threads sleep instead of spinning (3-5x faster training on a busy machine);
# set before anything imports torch, here and in the notebook kernels that inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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
# Optional local word-vector files that notebook 02 compares with GloVe (see semantics "local:").
os.environ.setdefault("DOODLEKIT_VECTORS", str(WORDVECTORS))


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


@pytest.fixture
def cache_dir() -> Path:
    """This test's (fresh, empty) cache folder, as set by ``_isolated_cache``."""
    return Path(os.environ["DOODLEKIT_CACHE"])


@pytest.fixture
def http_mirror(mirror: Path) -> Iterator[MirrorServer]:
    """A loopback HTTP server serving the mirror like the bucket; stopped after the test."""
    with MirrorServer(mirror) as server:
        yield server


@pytest.fixture
def remote(http_mirror: MirrorServer, monkeypatch: pytest.MonkeyPatch) -> MirrorServer:
    """No local mirror: data comes from ``http_mirror`` (DOODLEKIT_QUICKDRAW_URL) into the cache.

    Retries back off for 10 ms instead of seconds, so error tests stay fast.
    """
    monkeypatch.delenv("DOODLEKIT_DATA")
    monkeypatch.setenv("DOODLEKIT_QUICKDRAW_URL", http_mirror.url)
    monkeypatch.setattr(http, "RETRY_BACKOFF_S", 0.01)
    return http_mirror


@pytest.fixture
def refused_url() -> str:
    """A loopback URL where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
