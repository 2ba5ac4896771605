"""Read a category's Quick, Draw! file: from the mirror, else the cache, else download it.

A download fetches only the rows asked for (``Range`` requests: the ``.npy`` header
plus ``n * 784`` bytes, or the first ``n`` ndjson lines) into the cache. Each cache file
``<cache>/<folder>/<name><suffix>`` has a JSON sidecar ``<file>.json`` recording how
many rows it holds, whether that is the whole remote file, where in the remote file
the cached prefix ends, and the file's size and SHA-256; a later, bigger request
downloads only the rows after that point (from the same URL; another URL starts the
file afresh). A cache file that does not match its sidecar is discarded and fetched again.

Reading the sidecar, extending the file and writing the new sidecar happen under a
cross-process lock, ``<file>.lock`` (:mod:`filelock`), so two notebooks or processes
extending the same file take turns; an extension also checks that the cached prefix
is still the one its sidecar describes before appending to it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import itertools
import json
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import filelock
import numpy as np

from doodlekit.data import files, http
from doodlekit.data.categories import validate_categories, validate_category
from doodlekit.data.settings import Settings, get_settings, relative_path
from doodlekit.errors import CacheFolderError, CorruptFileError, DataNotFoundError, DoodleKitError, DownloadError

#: Pixels per bitmap row (28 x 28).
PIXELS = 28 * 28
#: Bytes of the remote ``.npy`` asked for first, enough for a version 1.0 header.
NPY_HEADER_GUESS = 128
#: Largest ``.npy`` header believed (numpy's own limit is 10,000 bytes); a longer one is refused unread.
NPY_HEADER_MAX = 64 * 1024
#: A cache temp file (``.<name>.*.part``) untouched for this long is a killed download's leftover.
STALE_PART_S = 300.0
_SIDECAR_VERSION = 1
#: Seconds to wait for another process that is filling the same cache file.
LOCK_TIMEOUT_S = 900.0

Source = Literal["mirror", "cache", "download"]


@dataclass(frozen=True)
class FetchReport:
    """What :func:`fetch` got for one category.

    Attributes:
        category: official category name.
        fmt: ``"bitmap"``, ``"simplified"`` or ``"raw"``.
        rows: rows (drawings) available for the request, ``min(n, rows in the file)``.
        source: ``"mirror"``, ``"cache"`` or ``"download"`` (the cache was filled or extended).
        bytes_downloaded: response-body bytes moved over the network (0 unless downloaded).
        path: the local file the rows are read from.
    """

    category: str
    fmt: str
    rows: int
    source: Source
    bytes_downloaded: int
    path: Path


@dataclass(frozen=True)
class _Sidecar:
    """What a cache file holds (stored as ``<file>.json``).

    ``next_offset`` is the remote byte where the cached prefix ends; ``data_offset``
    and ``total_rows`` (bitmaps only) are the remote header length and row count.
    """

    rows: int
    complete: bool
    next_offset: int
    size: int
    sha256: str
    url: str
    data_offset: int | None = None
    total_rows: int | None = None
    version: int = _SIDECAR_VERSION


def _check_n(n: int | None) -> None:
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
        raise ValueError(f"n must be a positive int or None (all rows), got {n!r}")


def _sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _npy_header(fh: io.BufferedIOBase | io.BytesIO, where: str) -> tuple[tuple[int, ...], int]:
    """Parse an ``.npy`` header of (N, 784) uint8 rows; return ``(shape, header length in bytes)``."""
    try:
        version = np.lib.format.read_magic(fh)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read(fh)
    except (ValueError, EOFError, SyntaxError) as exc:
        raise CorruptFileError(f"{where} is not a valid .npy file ({exc}); delete it or fetch it again") from None
    if dtype != np.uint8 or fortran_order or len(shape) != 2 or shape[1] != PIXELS:
        raise CorruptFileError(
            f"{where} holds {dtype} {shape} (fortran_order={fortran_order}), not (N, {PIXELS}) uint8 bitmaps; "
            "point DOODLEKIT_DATA / DOODLEKIT_QUICKDRAW_URL at a Quick, Draw! numpy_bitmap folder"
        )
    return shape, fh.tell()


def _read_bitmap_rows(path: Path, n: int | None) -> np.ndarray:
    """The first ``n`` rows of an ``.npy`` bitmap file, memory-mapped so only those are read."""
    with open(path, "rb") as fh:
        _npy_header(fh, str(path))
    try:
        rows = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise CorruptFileError(f"{path} cannot be read as .npy ({exc}); delete it or fetch it again") from None
    return np.array(rows[:n], dtype=np.uint8)


def _record_problem(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    """``(record, "")`` for a UTF-8 JSON object line, else ``(None, what is wrong)``."""
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return None, f"is not UTF-8 (byte {exc.start + 1} is {raw[exc.start:exc.start + 1]!r})"
    except ValueError as exc:
        return None, f"is not JSON ({getattr(exc, 'msg', exc)}; it starts {raw[:40]!r})"
    if not isinstance(record, dict):
        return None, f"is a JSON {type(record).__name__}, not a drawing record (an object)"
    return record, ""


class _CheckedLines:
    """A sink for whole ndjson lines that refuses a line that is not a UTF-8 JSON object before writing it."""

    def __init__(self, sink: files.HashingWriter, where: str, lines_before: int) -> None:
        self.sink, self.where, self.line = sink, where, lines_before

    def write(self, data: bytes | bytearray) -> int:
        parts = bytes(data).split(b"\n")
        if parts[-1] == b"":
            parts.pop()
        for raw in parts:
            self.line += 1
            if raw.strip():
                problem = _record_problem(raw)[1]
                if problem:
                    raise CorruptFileError(
                        f"line {self.line} of {self.where} {problem}; nothing of it was cached. The server sends "
                        "a corrupt file: try again later, another DOODLEKIT_QUICKDRAW_URL (--url), or a mirror "
                        "(DOODLEKIT_DATA / --data)"
                    )
        return self.sink.write(data)


def _read_lines(path: Path, n: int | None, source: str = "cache") -> list[dict[str, Any]]:
    """The first ``n`` ndjson records of a file (from ``source``: "mirror" or the cache), parsed."""
    remedy = ("the mirror (DOODLEKIT_DATA) is damaged: replace that file, or unset DOODLEKIT_DATA (--data) to "
              "download it" if source == "mirror" else "delete it or fetch it again")
    records = []
    with open(path, "rb") as fh:
        for number, line in enumerate(itertools.islice(fh, n), 1):
            if not line.strip():
                continue
            record, problem = _record_problem(line.rstrip(b"\r\n"))
            if problem:
                raise CorruptFileError(f"line {number} of {path} {problem}: not valid ndjson; {remedy}")
            records.append(record)
    return records


def _count_rows(path: Path, fmt: str, n: int | None) -> int:
    """Rows of a complete local file, counting at most ``n``."""
    if fmt == "bitmap":
        with open(path, "rb") as fh:
            total = _npy_header(fh, str(path))[0][0]
    else:
        with open(path, "rb") as fh:
            total = sum(1 for line in itertools.islice(fh, n) if line.strip())
    return total if n is None else min(n, total)


def _load_sidecar(path: Path, fmt: str) -> _Sidecar | None:
    """The sidecar of a cache file when file and sidecar agree, else ``None``.

    Raises:
        CorruptFileError: a cache file exists but is truncated, altered or has no valid sidecar.
    """
    side = _sidecar_path(path)
    if not path.exists() and not side.exists():
        return None
    problem = "its sidecar is missing or unreadable"
    try:
        meta = _Sidecar(**json.loads(side.read_text()))
    except (OSError, ValueError, TypeError):
        meta = None
    if meta is not None:
        size = path.stat().st_size if path.exists() else -1
        if meta.version != _SIDECAR_VERSION:
            problem = f"its sidecar is version {meta.version}, not {_SIDECAR_VERSION}"
        elif size < 0:
            problem = f"the file is missing (only its sidecar {side.name} is there)"
        elif size != meta.size:
            problem = f"it is {size} bytes, its sidecar says {meta.size}"
        elif files.sha256_file(path) != meta.sha256:
            problem = "its SHA-256 differs from its sidecar's"
        elif fmt == "bitmap" and _count_rows(path, fmt, None) != meta.rows:
            problem = f"its header does not say {meta.rows} rows"
        else:
            return meta
    raise CorruptFileError(f"cache file {path} is corrupt: {problem}; delete it (and {side.name}) or fetch it again")


def _places(settings: Settings, rel: str, cached: Path) -> str:
    """Where a file was looked for, for error messages."""
    if settings.data_dir is None:
        mirror = "no mirror (DOODLEKIT_DATA not set)"
    elif not settings.data_dir.is_dir():
        mirror = f"mirror {settings.data_dir} (no such folder)"
    else:
        mirror = f"mirror {settings.data_dir / rel} (absent)"
    return f"{mirror}, cache {cached} (absent or short)"


def _offline_hint(settings: Settings, rel: str) -> str:
    """What to do when the server cannot be reached: about the mirror, as set or not."""
    if settings.data_dir is None:
        return "to work offline, set DOODLEKIT_DATA (or --data) to a local mirror laid out like the bucket"
    if not settings.data_dir.is_dir():
        return (f"the mirror DOODLEKIT_DATA (or --data) points at, {settings.data_dir}, does not exist: "
                "correct it to work offline")
    return (f"the mirror {settings.data_dir} (DOODLEKIT_DATA or --data) lacks {rel}: add the file there, "
            "or point DOODLEKIT_DATA (or --data) at a mirror that has it")


def _fetch_npy_header(t: http.Transfer) -> tuple[tuple[int, ...], int]:
    """Download and parse the remote ``.npy`` header: ``(shape, header length in bytes)``."""
    buf = io.BytesIO()
    http.copy_range(t, 0, NPY_HEADER_GUESS, buf)
    raw = buf.getvalue()
    if raw.startswith(b"\x93NUMPY"):
        field = 2 if raw[6] == 1 else 4
        end = 8 + field + int.from_bytes(raw[8:8 + field], "little")
        if end > NPY_HEADER_MAX:
            raise CorruptFileError(
                f"{t.url} claims a {end:,}-byte .npy header (at most {NPY_HEADER_MAX:,} is believed), so it is "
                "not a Quick, Draw! bitmap file; nothing was downloaded. Point DOODLEKIT_QUICKDRAW_URL (--url) "
                "or DOODLEKIT_DATA (--data) at a Quick, Draw! numpy_bitmap folder"
            )
        if end > len(raw):
            http.copy_range(t, len(raw), end, buf)
    buf.seek(0)
    return _npy_header(buf, t.url)


def _copy_cached_prefix(cached: Path, meta: _Sidecar, sink: files.HashingWriter, skip: int = 0) -> None:
    """Append the cached file's bytes after its first ``skip`` to ``sink``, checking that the whole file
    is still the one ``meta`` describes (size and SHA-256) before the extension is kept."""
    digest, size = hashlib.sha256(), 0
    with open(cached, "rb") as old:
        for block in iter(lambda: old.read(1 << 20), b""):
            digest.update(block)
            if size + len(block) > skip:
                sink.write(block[max(0, skip - size):])
            size += len(block)
    if size != meta.size or digest.hexdigest() != meta.sha256:
        raise CorruptFileError(
            f"cache file {cached} changed while it was being extended (it is {size} bytes, its sidecar says "
            f"{meta.size}); nothing was written. Fetch it again"
        )


def _download_bitmap(t: http.Transfer, cached: Path, meta: _Sidecar | None, n: int | None) -> _Sidecar:
    """Fill or extend the cached ``.npy`` with the remote file's first ``n`` rows."""
    if meta is None:
        (total_rows, _), data_offset = _fetch_npy_header(t)
        have = 0
        claimed = data_offset + total_rows * PIXELS
        if t.remote_size is not None and claimed != t.remote_size:
            raise CorruptFileError(
                f"{t.url} is {t.remote_size:,} bytes but its .npy header says {total_rows:,} rows "
                f"({claimed:,} bytes); nothing was downloaded. The server's file is truncated or not a "
                "Quick, Draw! bitmap file: try another DOODLEKIT_QUICKDRAW_URL (--url) or a mirror (DOODLEKIT_DATA)"
            )
    else:
        data_offset, total_rows, have = meta.data_offset, meta.total_rows, meta.rows
    want = total_rows if n is None else min(n, total_rows)
    t.bar.total = t.bytes_moved + (want - have) * PIXELS
    with files.atomic_file(cached) as sink:
        np.lib.format.write_array_header_1_0(sink, {"descr": "|u1", "fortran_order": False, "shape": (want, PIXELS)})
        if have:
            with open(cached, "rb") as old:
                header = _npy_header(old, str(cached))[1]
            _copy_cached_prefix(cached, meta, sink, skip=header)
        http.copy_range(t, data_offset + have * PIXELS, data_offset + want * PIXELS, sink)
    return _Sidecar(rows=want, complete=want == total_rows, next_offset=data_offset + want * PIXELS,
                    size=sink.size, sha256=sink.sha256, url=t.url, data_offset=data_offset,
                    total_rows=total_rows)


def _download_lines(t: http.Transfer, cached: Path, meta: _Sidecar | None, n: int | None) -> _Sidecar:
    """Fill or extend the cached ndjson with the remote file's first ``n`` lines."""
    have = meta.rows if meta else 0
    start = meta.next_offset if meta else 0
    with files.atomic_file(cached) as sink:
        if meta:
            _copy_cached_prefix(cached, meta, sink)
        checked = _CheckedLines(sink, t.url, have)
        lines, eof = http.copy_lines(t, start, None if n is None else n - have, checked,
                                      line_bytes=start / have if have else None)
    return _Sidecar(rows=have + lines, complete=eof, next_offset=sink.size, size=sink.size,
                    sha256=sink.sha256, url=t.url)


def _cache_folder_error(exc: OSError, cached: Path, settings: Settings) -> CacheFolderError | None:
    """A clear error for a cache that cannot be used (read-only, a file where a folder should be, a folder
    where a file should be, full), or ``None`` when ``exc`` is something else."""
    where = Path(exc.filename) if exc.filename else settings.cache_dir
    if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        what = f"{where} is read-only ({exc.strerror})"
    elif isinstance(exc, (NotADirectoryError, FileExistsError)):
        blocker = next((p for p in (where, *where.parents) if p.exists() and not p.is_dir()), where)
        what = f"{blocker} is a file, not a folder ({exc.strerror})"
    elif isinstance(exc, IsADirectoryError):
        what = f"{where} is a folder, not a file ({exc.strerror}); remove it or"
    elif exc.errno in (errno.ENOSPC, errno.EDQUOT):
        what = f"there is no room left in {where} ({exc.strerror}); free some space or"
    else:
        return None
    remedy = " set" if what.endswith(" or") else "; set"
    return CacheFolderError(
        f"cannot use the cache folder {settings.cache_dir} for {cached.name}: {what}{remedy} DOODLEKIT_CACHE "
        "(or --cache) to a writable folder"
    )


@contextlib.contextmanager
def _cache_lock(cached: Path, settings: Settings, *, write: bool) -> Iterator[None]:
    """Hold ``<cached>.lock``, the cross-process lock of one cache file, while its sidecar is read, the file
    extended and the new sidecar written. Reading only (``write=False``) goes without a lock when the
    cache cannot hold one (a missing or read-only cache folder)."""
    lock = filelock.FileLock(cached.with_name(cached.name + ".lock"), timeout=LOCK_TIMEOUT_S)
    locked = False
    try:
        if cached.is_dir():
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(cached))
        if write or cached.parent.is_dir():
            cached.parent.mkdir(parents=True, exist_ok=True)
            lock.acquire()
            locked = True
    except filelock.Timeout:
        raise CacheFolderError(
            f"another process has been filling {cached} for over {LOCK_TIMEOUT_S / 60:.0f} minutes "
            f"(it holds {lock.lock_file}); wait for it to finish, or stop it, and try again"
        ) from None
    except OSError as exc:
        if write or isinstance(exc, IsADirectoryError):
            clear = _cache_folder_error(exc, cached, settings)
            if clear is None:
                raise
            raise clear from exc
        # reading only, from a read-only cache: read what is there without a lock
    try:
        yield
    finally:
        if locked:
            lock.release()


def _ensure(category: str, fmt: str, n: int | None, settings: Settings, *, download_ok: bool,
            progress: bool) -> FetchReport:
    """Make the first ``n`` rows of a category's file available locally; say where from."""
    rel = relative_path(validate_category(category), fmt)
    _check_n(n)
    if settings.data_dir is not None and (settings.data_dir / rel).is_file():
        path = settings.data_dir / rel
        return FetchReport(category, fmt, _count_rows(path, fmt, n), "mirror", 0, path)
    cached = settings.cache_dir / rel
    try:
        with _cache_lock(cached, settings, write=download_ok):
            return _ensure_cached(category, fmt, n, settings, rel, cached, download_ok=download_ok,
                                  progress=progress)
    except OSError as exc:
        clear = None if isinstance(exc, DoodleKitError) else _cache_folder_error(exc, cached, settings)
        if clear is None:
            raise
        raise clear from exc


def _ensure_cached(category: str, fmt: str, n: int | None, settings: Settings, rel: str, cached: Path, *,
                   download_ok: bool, progress: bool) -> FetchReport:
    """:func:`_ensure` for a file not in the mirror: from the cache, else downloaded into it (under its lock)."""
    try:
        meta = _load_sidecar(cached, fmt)
    except CorruptFileError as exc:
        if not download_ok:
            raise
        warnings.warn(f"{exc}; fetching it again", stacklevel=4)
        meta = None
    if meta is not None and (meta.complete or (n is not None and meta.rows >= n)):
        return FetchReport(category, fmt, meta.rows if n is None else min(n, meta.rows), "cache", 0, cached)
    url = f"{settings.base_url}/{quote(rel)}"
    if not download_ok:
        short = f" (it holds {meta.rows} rows, {n or 'all'} asked)" if meta else ""
        raise DataNotFoundError(
            f"no {fmt} data on disk for {category!r}{short}: looked in {_places(settings, rel, cached)}; "
            f"downloading from {url} is off (download=False). Pass download=True, or run "
            f"`doodlekit fetch --categories \"{category}\" --per-class {n or 1000} --format {fmt}` first"
        )
    try:
        files.remove_stale_parts(cached, STALE_PART_S)
        with http.transfer(url, desc=category, progress=progress, timeout=settings.timeout) as t:
            fill = _download_bitmap if fmt == "bitmap" else _download_lines
            meta = fill(t, cached, meta if meta is not None and meta.url == url else None, n)
    except DataNotFoundError:
        raise DataNotFoundError(
            f"no {fmt} file for category {category!r}: looked in {_places(settings, rel, cached)} "
            f"and {url} (404 Not Found). Point DOODLEKIT_DATA (--data) at a mirror that has it, "
            "or DOODLEKIT_QUICKDRAW_URL (--url) at a server that does"
        ) from None
    except DownloadError as exc:
        generic = getattr(http, "_OFFLINE_HINT", None)
        message = str(exc)
        if generic and generic in message:  # say what the settings are, not what they might be
            message = message.replace(generic, _offline_hint(settings, rel))
        raise type(exc)(f"no {fmt} data on disk for category {category!r} (looked in "
                        f"{_places(settings, rel, cached)}), and downloading it failed: {message}") from None
    with files.atomic_file(_sidecar_path(cached)) as side:
        side.write(json.dumps(asdict(meta), indent=1).encode())
    return FetchReport(category, fmt, meta.rows if n is None else min(n, meta.rows), "download",
                       t.bytes_moved, cached)


def load_bitmaps(
    category: str,
    n: int | None = None,
    *,
    settings: Settings | None = None,
    progress: bool = True,
    download: bool = True,
) -> np.ndarray:
    """A category's first ``n`` 28x28 bitmaps (all when ``n`` is None).

    ``settings`` says where files are (``None``: :func:`get_settings` from the environment);
    ``progress`` shows a bar while downloading; ``download=False`` reads only what is on disk.

    Returns:
        ``(rows, 784)`` uint8 array (0 = paper, 255 = ink), ``rows = min(n, rows in the file)``.

    Raises:
        UnknownCategoryError, DataNotFoundError, DownloadError, OfflineError, CorruptFileError.
    """
    report = _ensure(category, "bitmap", n, settings or get_settings(), download_ok=download, progress=progress)
    return _read_bitmap_rows(report.path, report.rows)


def load_drawings(
    category: str,
    n: int | None = None,
    *,
    fmt: str = "simplified",
    settings: Settings | None = None,
    progress: bool = True,
    download: bool = True,
) -> list[dict[str, Any]]:
    """A category's first ``n`` stroke drawings (all when ``n`` is None) in ``fmt`` ("simplified" or "raw").

    ``settings``, ``progress`` and ``download`` as in :func:`load_bitmaps`.

    Returns:
        ndjson records: ``word``, ``countrycode``, ``timestamp``, ``recognized``, ``key_id`` and
        ``drawing`` (per stroke ``[xs, ys]``, 0-255 box, for simplified; ``[xs, ys, t_ms]`` for raw).
    """
    if fmt == "bitmap":
        raise ValueError("load_drawings reads strokes (fmt='simplified' or 'raw'); use load_bitmaps for bitmaps")
    report = _ensure(category, fmt, n, settings or get_settings(), download_ok=download, progress=progress)
    return _read_lines(report.path, report.rows, report.source)


def fetch(
    categories: Iterable[str] | str,
    per_class: int | None,
    fmt: str = "bitmap",
    *,
    settings: Settings | None = None,
    progress: bool = True,
) -> list[FetchReport]:
    """Make ``per_class`` rows of each category available locally (mirror, cache or download).

    ``categories`` is a list of names or one comma-separated string; all are validated first.
    ``settings`` and ``progress`` as in :func:`load_bitmaps`.
    """
    names = validate_categories(categories if isinstance(categories, str) else list(categories))
    settings = settings or get_settings()
    return [_ensure(name, fmt, per_class, settings, download_ok=True, progress=progress) for name in names]
