"""Writing and reading files safely: atomic writes (temp file in the same folder, fsync,
``os.replace``), JSON, ``.npz`` written atomically and read without unpickling, and SHA-256 of files."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import tempfile
import time
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from doodlekit.errors import CorruptFileError, DataNotFoundError


class HashingWriter:
    """A binary sink that counts (``size``, bytes) and SHA-256-hashes what is written through it."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.size = 0
        self._hash = hashlib.sha256()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._hash.update(data)
        self.size += len(data)
        return self.raw.write(data)

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of everything written so far."""
        return self._hash.hexdigest()


def _umask() -> int:
    """The process's umask (read from /proc where it can be, without changing it; else set and restored)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_file(path: Path) -> Iterator[HashingWriter]:
    """Write ``path`` atomically: a temp file in the same folder, fsynced, then :func:`os.replace`.

    On any exception (including KeyboardInterrupt) the temp file is removed and
    ``path`` keeps its previous contents, if it had any. The file gets the mode a plain
    ``open(path, "w")`` would give it (``0o666`` less the umask), not ``mkstemp``'s ``0o600``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; give it the mode open() would
        with os.fdopen(fd, "wb") as raw:
            yield HashingWriter(raw)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def remove_stale_parts(path: Path, older_than_s: float) -> list[Path]:
    """Remove :func:`atomic_file` temp files of ``path`` untouched for ``older_than_s`` seconds.

    A download killed outright (SIGKILL, power cut) cannot remove its temp file; a live one
    writes to it at least every read timeout, so an old one is a leftover. Returns those removed.
    """
    removed = []
    now = time.time()
    with suppress(OSError):
        for part in path.parent.glob(f".{glob.escape(path.name)}.*.part"):
            with suppress(OSError):
                if now - part.stat().st_mtime > older_than_s:
                    part.unlink()
                    removed.append(part)
    return removed


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through :func:`atomic_file`."""
    with atomic_file(path) as sink:
        sink.write(data)


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write ``payload`` as indented JSON (no NaN or infinity) to ``path``, atomically."""
    write_atomic(path, (json.dumps(payload, indent=2, allow_nan=False) + "\n").encode())


def write_npz(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``arrays`` (name -> array) to ``path`` as an uncompressed ``.npz``, atomically; returns the path.

    Only plain arrays (numbers, bools, strings) are accepted, so :func:`read_npz` reads everything
    back with ``allow_pickle=False``.
    """
    path = Path(path)
    plain = {name: np.asarray(value) for name, value in arrays.items()}
    objects = [name for name, value in plain.items() if value.dtype.hasobject]
    if objects:
        raise ValueError(
            f"{', '.join(objects)} would be pickled into {path.name}, and .npz files are read without "
            "unpickling; convert them to numeric or string arrays, e.g. np.asarray(values, dtype=str)"
        )
    with atomic_file(path) as sink:
        np.savez(sink.raw, **plain)  # the temp file itself: numpy's zip writer seeks
    return path


def read_npz(path: str | os.PathLike[str], keys: Sequence[str], *, what: str, remedy: str) -> dict[str, np.ndarray]:
    """The arrays ``keys`` of the ``.npz`` file at ``path`` (written by :func:`write_npz`), read without unpickling.

    Raises:
        DataNotFoundError: no file at ``path``.
        CorruptFileError: the file is not a readable ``.npz`` or lacks one of ``keys``.
        Both messages name ``what`` the file should be and end with ``remedy``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"no {what} at {path}; {remedy}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in keys if key in archive.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise CorruptFileError(f"{path} cannot be read as a {what} ({exc}); {remedy}") from exc
    missing = [key for key in keys if key not in arrays]
    if missing:
        raise CorruptFileError(f"{path} is not a {what} (missing {', '.join(missing)}); {remedy}")
    return arrays


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
