"""Reading categories: mirror, then cache, then partial download; cache extension and repair."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from http_mirror import MirrorServer

from doodlekit.data import DEFAULT_BASE_URL, FetchReport, fetch, get_settings, load_bitmaps, load_drawings
from doodlekit.errors import CorruptFileError, DataNotFoundError, UnknownCategoryError

CAT = "numpy_bitmap/cat.npy"


def _ndjson_lines(mirror: Path, fmt: str, category: str) -> list[bytes]:
    return (mirror / fmt / f"{category}.ndjson").read_bytes().splitlines(keepends=True)


def _longest(mirror: Path, fmt: str) -> str:
    """The category with the most drawings in the mirror's ``fmt`` folder."""
    return max((mirror / fmt).glob("*.ndjson"), key=lambda p: p.read_bytes().count(b"\n")).stem


def test_settings_arguments_win_over_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOODLEKIT_QUICKDRAW_URL", "http://env.example/full/")
    monkeypatch.setenv("DOODLEKIT_DATA", str(tmp_path / "env-mirror"))
    assert get_settings().base_url == "http://env.example/full"
    assert get_settings().data_dir == tmp_path / "env-mirror"
    explicit = get_settings("http://arg.example", tmp_path / "m", tmp_path / "c")
    assert (explicit.base_url, explicit.data_dir, explicit.cache_dir) == ("http://arg.example", tmp_path / "m",
                                                                         tmp_path / "c")
    monkeypatch.delenv("DOODLEKIT_QUICKDRAW_URL")
    monkeypatch.delenv("DOODLEKIT_DATA")
    assert get_settings().base_url == DEFAULT_BASE_URL and get_settings().data_dir is None


def test_mirror_bitmaps_are_read_without_touching_the_cache(mirror: Path, cache_dir: Path) -> None:
    full = np.load(mirror / CAT, allow_pickle=False)
    rows = load_bitmaps("cat", 100)
    assert rows.shape == (100, 784) and rows.dtype == np.uint8
    assert np.array_equal(rows, full[:100])
    assert np.array_equal(load_bitmaps("cat"), full)
    assert not any(cache_dir.iterdir())


def test_asking_more_rows_than_the_mirror_has_gives_what_is_there(mirror: Path) -> None:
    available = np.load(mirror / "numpy_bitmap" / "The Mona Lisa.npy", mmap_mode="r").shape[0]
    assert load_bitmaps("The Mona Lisa", available + 5000).shape == (available, 784)
    [report] = fetch(["The Mona Lisa"], available + 5000)
    assert (report.rows, report.source, report.bytes_downloaded) == (available, "mirror", 0)


@pytest.mark.parametrize("fmt", ["simplified", "raw"])
def test_mirror_drawings_are_the_ndjson_records(mirror: Path, fmt: str) -> None:
    lines = _ndjson_lines(mirror, fmt, "hot dog")
    records = load_drawings("hot dog", 7, fmt=fmt)
    assert records == [json.loads(line) for line in lines[:7]]
    assert set(records[0]) == {"word", "countrycode", "timestamp", "recognized", "key_id", "drawing"}
    assert len(records[0]["drawing"][0]) == (2 if fmt == "simplified" else 3)
    assert len(load_drawings("hot dog", fmt=fmt)) == len(lines)


def test_bad_arguments_fail_at_once() -> None:
    with pytest.raises(UnknownCategoryError, match='did you mean "hot dog"'):
        load_bitmaps("hot-dog", 10)
    with pytest.raises(UnknownCategoryError, match='did you mean "hot air balloon"'):
        fetch("cat,hot_air_baloon", 10)
    with pytest.raises(ValueError, match="positive"):
        load_bitmaps("cat", 0)
    with pytest.raises(ValueError, match="load_bitmaps"):
        load_drawings("cat", 5, fmt="bitmap")
    with pytest.raises(ValueError, match="unknown format"):
        fetch(["cat"], 5, "png")


def test_partial_bitmap_download_moves_only_the_rows_asked(remote: MirrorServer, mirror: Path,
                                                           cache_dir: Path) -> None:
    [report] = fetch(["cat"], 300, progress=False)
    assert report == FetchReport("cat", "bitmap", 300, "download", remote.bytes_sent, cache_dir / CAT)
    assert remote.bytes_sent <= 1.1 * 300 * 784
    assert np.array_equal(np.load(cache_dir / CAT, allow_pickle=False), np.load(mirror / CAT)[:300])
    sidecar = json.loads((cache_dir / (CAT + ".json")).read_text())
    assert (sidecar["rows"], sidecar["complete"]) == (300, False)


@pytest.mark.parametrize("fmt", ["simplified", "raw"])
def test_partial_ndjson_download_moves_only_the_lines_asked(remote: MirrorServer, mirror: Path, fmt: str) -> None:
    category = _longest(mirror, fmt)
    lines = _ndjson_lines(mirror, fmt, category)
    n = len(lines) // 2
    records = load_drawings(category, n, fmt=fmt, progress=False)
    assert records == [json.loads(line) for line in lines[:n]]
    assert remote.bytes_sent <= 1.1 * sum(map(len, lines[:n]))


def test_bitmap_cache_is_extended_from_where_it_ends(remote: MirrorServer, mirror: Path) -> None:
    load_bitmaps("cat", 100, progress=False)
    remote.reset_counters()
    rows = load_bitmaps("cat", 300, progress=False)
    assert np.array_equal(rows, np.load(mirror / CAT)[:300])
    [request] = remote.requests
    header = 128
    assert request.range == f"bytes={header + 100 * 784}-{header + 300 * 784 - 1}"
    assert remote.bytes_sent == 200 * 784


@pytest.mark.parametrize("fmt", ["simplified", "raw"])
def test_ndjson_cache_is_extended_from_where_it_ends(remote: MirrorServer, mirror: Path, cache_dir: Path,
                                                     fmt: str) -> None:
    category = _longest(mirror, fmt)
    lines = _ndjson_lines(mirror, fmt, category)
    load_drawings(category, 10, fmt=fmt, progress=False)
    cached_bytes = sum(map(len, lines[:10]))
    remote.reset_counters()
    records = load_drawings(category, 30, fmt=fmt, progress=False)
    assert records == [json.loads(line) for line in lines[:30]]
    assert remote.requests[0].range.startswith(f"bytes={cached_bytes}-")
    assert remote.bytes_sent <= 1.1 * sum(map(len, lines[10:30]))


def test_cache_knows_when_it_holds_the_whole_file(remote: MirrorServer, mirror: Path, cache_dir: Path) -> None:
    available = np.load(mirror / "numpy_bitmap" / "The Mona Lisa.npy", mmap_mode="r").shape[0]
    [first] = fetch(["The Mona Lisa"], available + 1000, progress=False)
    assert (first.rows, first.source) == (available, "download")
    remote.reset_counters()
    [again] = fetch(["The Mona Lisa"], None, progress=False)
    [fewer] = fetch(["The Mona Lisa"], 10, progress=False)
    assert (again.rows, again.source, fewer.rows, fewer.source) == (available, "cache", 10, "cache")
    assert remote.requests == []
    assert json.loads((cache_dir / "numpy_bitmap" / "The Mona Lisa.npy.json").read_text())["complete"] is True


def test_ndjson_end_of_file_is_found_even_on_an_exact_fit(remote: MirrorServer, mirror: Path) -> None:
    lines = _ndjson_lines(mirror, "raw", "cat")
    assert len(load_drawings("cat", len(lines), fmt="raw", progress=False)) == len(lines)
    [more] = fetch(["cat"], len(lines) + 5, "raw", progress=False)
    assert (more.rows, more.bytes_downloaded) == (len(lines), 0)
    remote.reset_counters()
    [cached] = fetch(["cat"], len(lines) + 50, "raw", progress=False)
    assert cached.source == "cache" and remote.requests == []


def test_second_identical_request_is_served_by_the_cache(remote: MirrorServer) -> None:
    first = load_bitmaps("cat", 50, progress=False)
    remote.reset_counters()
    [report] = fetch(["cat"], 50, progress=False)
    assert (report.source, report.bytes_downloaded) == ("cache", 0)
    assert np.array_equal(load_bitmaps("cat", 20, progress=False), first[:20])
    assert remote.requests == []


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-500])


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _garble_header(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(b"garbage!" + data[8:])


def _drop_sidecar(path: Path) -> None:
    path.with_name(path.name + ".json").unlink()


@pytest.mark.parametrize("damage", [_truncate, _flip_a_byte, _garble_header, _drop_sidecar])
@pytest.mark.parametrize("fmt", ["bitmap", "simplified"])
def test_corrupt_cache_is_detected_and_fetched_again(remote: MirrorServer, damage: Callable[[Path], None],
                                                     fmt: str) -> None:
    read = load_bitmaps if fmt == "bitmap" else load_drawings
    [report] = fetch(["cat"], 20, fmt, progress=False)
    good = report.path.read_bytes()
    damage(report.path)
    with pytest.raises(CorruptFileError, match=r"cache file .*cat.* is corrupt.*delete it"):
        read("cat", 20, download=False, progress=False)
    with pytest.warns(UserWarning, match="corrupt.*fetching it again"):
        [again] = fetch(["cat"], 20, fmt, progress=False)
    assert again.source == "download" and report.path.read_bytes() == good
    assert len(read("cat", 20, download=False, progress=False)) == 20


def test_missing_file_names_every_place_looked_in(http_mirror: MirrorServer, mirror: Path, cache_dir: Path) -> None:
    with pytest.raises(DataNotFoundError) as info:
        load_bitmaps("hot dog", 10, settings=get_settings(http_mirror.url), progress=False)
    message = str(info.value)
    assert "'hot dog'" in message
    assert str(mirror / "numpy_bitmap" / "hot dog.npy") in message
    assert str(cache_dir / "numpy_bitmap" / "hot dog.npy") in message
    assert f"{http_mirror.url}/numpy_bitmap/hot%20dog.npy (404 Not Found)" in message
    assert [r.path for r in http_mirror.requests] == ["numpy_bitmap/hot dog.npy"]


def test_404_without_mirror_says_so(remote: MirrorServer) -> None:
    remote.misbehave("404")
    with pytest.raises(DataNotFoundError, match=r"no mirror \(DOODLEKIT_DATA not set\).*404 Not Found"):
        load_drawings("cat", 5, progress=False)


def test_download_off_and_nothing_on_disk_is_an_error(remote: MirrorServer, cache_dir: Path) -> None:
    with pytest.raises(DataNotFoundError, match=r"'cat'.*download=False.*doodlekit fetch"):
        load_bitmaps("cat", 10, download=False, progress=False)
    load_bitmaps("cat", 10, progress=False)
    remote.reset_counters()
    with pytest.raises(DataNotFoundError, match=r"it holds 10 rows, 20 asked"):
        load_bitmaps("cat", 20, download=False, progress=False)
    assert remote.requests == []


def test_names_with_spaces_download(remote: MirrorServer, mirror: Path) -> None:
    rows = load_bitmaps("The Mona Lisa", 30, progress=False)
    assert np.array_equal(rows, np.load(mirror / "numpy_bitmap" / "The Mona Lisa.npy")[:30])
    assert {r.path for r in remote.requests} == {"numpy_bitmap/The Mona Lisa.npy"}


def test_reading_order_is_mirror_then_cache_then_download(remote: MirrorServer, mirror: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    assert [r.source for r in fetch(["cat"], 10, progress=False)] == ["download"]
    assert [r.source for r in fetch(["cat"], 10, progress=False)] == ["cache"]
    monkeypatch.setenv("DOODLEKIT_DATA", str(mirror))
    assert [r.source for r in fetch(["cat"], 10, progress=False)] == ["mirror"]


def test_explicit_settings_win_over_the_environment(monkeypatch: pytest.MonkeyPatch, mirror: Path,
                                                    refused_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("DOODLEKIT_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("DOODLEKIT_QUICKDRAW_URL", refused_url)
    settings = get_settings(data_dir=mirror)
    [report] = fetch(["cat"], 10, settings=settings, progress=False)
    assert (report.source, report.path) == ("mirror", mirror / CAT)
    assert np.array_equal(load_bitmaps("cat", 10, settings=settings, progress=False), np.load(mirror / CAT)[:10])
    assert len(load_drawings("cat", 3, fmt="raw", settings=settings, progress=False)) == 3


def test_cache_from_another_url_is_not_extended_but_fetched_afresh(remote: MirrorServer, mirror: Path,
                                                                   tmp_path: Path) -> None:
    other_rows = np.load(mirror / CAT)[::-1][:100].copy()
    (tmp_path / "numpy_bitmap").mkdir()
    np.save(tmp_path / CAT, other_rows)
    load_bitmaps("cat", 10, progress=False)
    with MirrorServer(tmp_path) as other:
        rows = load_bitmaps("cat", 20, settings=get_settings(other.url), progress=False)
        assert other.requests[0].range == "bytes=0-127"
    assert np.array_equal(rows, other_rows[:20])
