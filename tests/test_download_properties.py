"""Property test of the download client (issue 10): under any sequence of server faults,
correct rows or a clear error, and the cache never holds a wrong row.

Hypothesis draws a category, a format, an optional first request that fills the cache
(so the second one may extend it), the rows asked (up to more than the file holds, or all),
and a fault for each of the next requests the loopback server answers
(:mod:`http_mirror`: resets, 5xx, 404, short, long or Range-ignoring replies, replies from
the wrong byte, unreadable headers, a proxy's HTML page, non-UTF-8 bytes). Then:

- the faulty request gives exactly the mirror's first rows, or raises a :class:`DoodleKitError`;
- the cache, read with downloading off, gives the mirror's first rows or an error, never others;
- a sidecar that vouches for its file (size and SHA-256) vouches for a prefix of the mirror's file;
- with the faults gone, the same request gives the right rows (nothing poisoned the cache).

``"garbage"`` (every byte ``0xff``) is drawn for ndjson only: ndjson lines are checked, but the
bucket publishes no checksums, so pixel bytes that are wrong yet well framed cannot be told from
right ones. Bounded and deterministic (``derandomize``, no example database); ~10 s on 2 cores.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from http_mirror import MirrorServer
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from doodlekit.data import Settings, http, load_bitmaps, load_drawings
from doodlekit.data.quickdraw import _load_sidecar, _sidecar_path
from doodlekit.data.settings import relative_path
from doodlekit.errors import DoodleKitError

#: Real categories with bitmaps and strokes in the mirror (one with a space, percent-encoded in URLs).
CATEGORIES = ("cat", "apple", "The Mona Lisa")
FORMATS = ("bitmap", "simplified", "raw")
#: Faults for any format; ``None`` answers properly.
FAULTS = (None, "reset", "500", "404", "ignore_range", "short", "long", "wrong_range", "bad_length", "bad_range",
          "html")
#: Faults for ndjson only (see the module docstring).
LINE_FAULTS = ("garbage",)

rows_asked = st.one_of(st.integers(1, 40), st.integers(1, 1100), st.none())


@cache
def _mirror_rows(mirror: Path, category: str, fmt: str) -> tuple[Any, bytes]:
    """All rows of the mirror's file (an array, or the parsed records) and the file's bytes."""
    raw = (mirror / relative_path(category, fmt)).read_bytes()
    if fmt == "bitmap":
        return np.load(mirror / relative_path(category, fmt)), raw
    return [json.loads(line) for line in raw.splitlines() if line.strip()], raw


def _load(category: str, fmt: str, n: int | None, settings_: Settings, download: bool) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "cache file ... is corrupt; fetching it again"
        if fmt == "bitmap":
            return load_bitmaps(category, n, settings=settings_, progress=False, download=download)
        return load_drawings(category, n, fmt=fmt, settings=settings_, progress=False, download=download)


def _assert_prefix(got: Any, expected: Any, n: int | None, what: str) -> None:
    """``got`` is exactly the first ``n`` of the mirror's rows (all of them when ``n`` is None)."""
    want = expected[:n]
    if isinstance(want, np.ndarray):
        assert got.shape == want.shape and np.array_equal(got, want), f"{what}: wrong bitmap rows"
    else:
        assert len(got) == len(want), f"{what}: {len(got)} rows, the mirror's first {n} are {len(want)}"
        assert got == want, f"{what}: wrong drawing rows"


def _assert_sidecar_vouches_only_for_a_prefix(cached: Path, fmt: str, rows: Any, raw: bytes) -> None:
    """When the sidecar accepts the cache file, the file is a prefix of the mirror's (whole when complete)."""
    try:
        meta = _load_sidecar(cached, fmt)
    except DoodleKitError:
        return  # the cache says it is corrupt: refused, never read
    if meta is None:
        assert not _sidecar_path(cached).exists()
        return
    if fmt == "bitmap":
        got = np.load(cached)
        assert meta.rows == len(got) and np.array_equal(got, rows[:meta.rows]), "sidecar vouches for wrong rows"
        assert meta.complete == (meta.rows == len(rows)), "sidecar's 'complete' is wrong"
    else:
        data = cached.read_bytes()
        assert raw.startswith(data), "sidecar vouches for bytes that are not the mirror's prefix"
        assert meta.rows == data.count(b"\n") + (not data.endswith(b"\n") and bool(data)), "sidecar's rows are wrong"
        assert not meta.complete or data == raw, "sidecar says complete for part of the file"


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, str, int | None, int | None, list[str | None]]:
    fmt = draw(st.sampled_from(FORMATS))
    faults = FAULTS + (LINE_FAULTS if fmt != "bitmap" else ())
    return (
        draw(st.sampled_from(CATEGORIES)),
        fmt,
        draw(st.one_of(st.none(), st.integers(1, 20))),  # a first, clean request (None: the cache starts empty)
        draw(rows_asked),
        draw(st.lists(st.sampled_from(faults), min_size=1, max_size=6)),
    )


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=cases())
@example(case=("cat", "raw", 5, 20, ["html"]))  # a proxy page answering an extension must not mark it complete
@example(case=("apple", "simplified", None, 30, ["short", "garbage"]))
@example(case=("The Mona Lisa", "bitmap", 10, None, ["wrong_range", "long", "reset", "short"]))
def test_faults_give_correct_rows_or_a_clear_error_and_never_a_wrong_cached_row(
        case: tuple[str, str, int | None, int | None, list[str | None]], http_mirror: MirrorServer, mirror: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    category, fmt, first, n, faults = case
    monkeypatch.setattr(http, "RETRY_BACKOFF_S", 0.0)
    rows, raw = _mirror_rows(mirror, category, fmt)
    with tempfile.TemporaryDirectory() as tmp:
        settings_ = Settings(http_mirror.url, None, Path(tmp), timeout=5.0)
        cached = settings_.cache_dir / relative_path(category, fmt)
        http_mirror.script([])
        if first is not None:
            _assert_prefix(_load(category, fmt, first, settings_, True), rows, first, "clean first request")

        http_mirror.script(faults)
        try:
            got = _load(category, fmt, n, settings_, True)
        except DoodleKitError as exc:
            event(f"faulty request: {type(exc).__name__}")
            assert str(exc) and "\n" not in str(exc).strip(), "an error is one clear line"
        else:
            event("faulty request: rows")
            _assert_prefix(got, rows, n, f"request under faults {faults}")
        http_mirror.script([])

        _assert_sidecar_vouches_only_for_a_prefix(cached, fmt, rows, raw)
        for asked in {first, n, None, 1}:
            try:
                got = _load(category, fmt, asked, settings_, False)
            except DoodleKitError:
                continue
            _assert_prefix(got, rows, asked, f"cache read back (n={asked}) after faults {faults}")

        _assert_prefix(_load(category, fmt, n, settings_, True), rows, n, f"clean retry after faults {faults}")
        _assert_sidecar_vouches_only_for_a_prefix(cached, fmt, rows, raw)
