"""Fixtures of ``tests/``: an isolated cache per test, and a loopback server playing the bucket.

The mirror, the ``mirror`` fixture and the test lanes are in the repository's root ``conftest.py``,
shared with the notebooks.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from http_mirror import MirrorServer

from doodlekit.data import http


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
