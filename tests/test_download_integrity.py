"""The download client's integrity (issue 10): never a shifted or cut row, never a raw traceback.

``file:`` URLs, short ``206`` replies, corrupt ndjson, unreadable headers, absurd ``.npy``
headers, missing cache files, leftover ``.part`` files and a configurable timeout.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from http_mirror import SHORT_BYTES, MirrorServer

from doodlekit import cli
from doodlekit.data import (
    Settings,
    fetch,
    get_settings,
    http,
    load_bitmaps,
    load_drawings,
)
from doodlekit.errors import (
    CorruptFileError,
    DoodleKitError,
    DownloadError,
    SettingsError,
)

CAT = "numpy_bitmap/cat.npy"


def _cache_files(cache_dir: Path) -> list[str]:
    """Files in the cache, lock files (which stay) aside."""
    return sorted(str(p.relative_to(cache_dir)) for p in cache_dir.rglob("*") if p.is_file() and p.suffix != ".lock")


# 1. file: URLs -----------------------------------------------------------------------------------

def test_file_url_is_refused_pointing_to_the_data_folder(mirror: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SettingsError, match=r"file:///.*local folder.*DOODLEKIT_DATA \(or --data\)"):
        get_settings(mirror.as_uri())
    with pytest.raises(SettingsError, match="DOODLEKIT_DATA"):
        get_settings(str(mirror))  # a bare folder path as URL
    monkeypatch.setenv("DOODLEKIT_QUICKDRAW_URL", mirror.as_uri())
    with pytest.raises(SettingsError):
        get_settings()
    code = cli.main(["fetch", "--categories", "cat", "--per-class", "5", "--url", mirror.as_uri()])
    err = capsys.readouterr().err
    assert code != 0 and len(err.strip().splitlines()) == 1 and "DOODLEKIT_DATA" in err


@pytest.mark.parametrize("fmt", ["bitmap", "raw"])
def test_a_reply_without_status_is_read_from_byte_zero_never_shifted(mirror: Path, cache_dir: Path,
                                                                     fmt: str) -> None:
    """Settings built by hand with a file: URL (get_settings refuses it): still the right rows."""
    settings = Settings(mirror.as_uri(), None, cache_dir)
    if fmt == "bitmap":
        assert np.array_equal(load_bitmaps("cat", 30, settings=settings, progress=False),
                              np.load(mirror / CAT)[:30])
        assert np.array_equal(load_bitmaps("cat", 60, settings=settings, progress=False),  # extension
                              np.load(mirror / CAT)[:60])
    else:
        lines = (mirror / "raw" / "cat.ndjson").read_bytes().splitlines()
        assert load_drawings("cat", 7, fmt="raw", settings=settings, progress=False) == \
            [json.loads(line) for line in lines[:7]]


# 2. short 206 replies ----------------------------------------------------------------------------

def test_short_206_replies_are_asked_again_until_the_range_is_complete(remote: MirrorServer, mirror: Path,
                                                                       cache_dir: Path) -> None:
    remote.misbehave("short")
    t = http.Transfer(url=f"{remote.url}/{CAT}", bar=http.tqdm(disable=True))
    assert b"".join(http.iter_range(t, 100, 100 + 3 * SHORT_BYTES + 5)) == \
        (mirror / CAT).read_bytes()[100:100 + 3 * SHORT_BYTES + 5]
    assert len(remote.requests) == 4

    assert np.array_equal(load_bitmaps("cat", 40, progress=False), np.load(mirror / CAT)[:40])
    side = json.loads((cache_dir / (CAT + ".json")).read_text())
    assert side["rows"] == 40 and not side["complete"]

    lines = (mirror / "raw" / "cat.ndjson").read_bytes().splitlines()
    [report] = fetch(["cat"], 10, "raw", progress=False)
    assert report.rows == 10 and len(lines) > 10
    assert load_drawings("cat", 10, fmt="raw", progress=False) == [json.loads(line) for line in lines[:10]]
    side = json.loads((cache_dir / "raw" / "cat.ndjson.json").read_text())
    assert side["rows"] == 10 and not side["complete"]


def test_short_206_replies_of_a_whole_small_file_give_all_of_it(remote: MirrorServer, mirror: Path,
                                                                cache_dir: Path) -> None:
    path = min((p for p in (mirror / "simplified").glob("*.ndjson") if p.stat().st_size > 3 * SHORT_BYTES),
               key=lambda p: p.stat().st_size)
    remote.misbehave("short")
    [report] = fetch([path.stem], None, "simplified", progress=False)
    assert (cache_dir / "simplified" / path.name).read_bytes() == path.read_bytes()
    assert report.rows == path.read_bytes().count(b"\n")
    assert json.loads((cache_dir / "simplified" / (path.name + ".json")).read_text())["complete"]


# 3. corrupt ndjson -------------------------------------------------------------------------------

@pytest.mark.parametrize(("bad", "problem"), [(b'{"word": "cat\xff\xfe"}', "is not UTF-8"),
                                              (b'{"word": "cat", "drawing": [[', "is not JSON"),
                                              (b"[1, 2, 3]", "is a JSON list, not a drawing record")])
def test_corrupt_ndjson_from_a_server_or_mirror_is_a_clear_error(tmp_path: Path, mirror: Path, cache_dir: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 bad: bytes, problem: str) -> None:
    good = (mirror / "simplified" / "cat.ndjson").read_bytes().splitlines(keepends=True)[:3]
    (tmp_path / "simplified").mkdir()
    (tmp_path / "simplified" / "cat.ndjson").write_bytes(b"".join(good) + bad + b"\n" + good[0])
    monkeypatch.delenv("DOODLEKIT_DATA")
    with MirrorServer(tmp_path) as server:
        expected = rf"line 4 of {server.url}/simplified/cat.ndjson {problem}.*nothing of it was cached"
        with pytest.raises(CorruptFileError, match=expected):
            load_drawings("cat", 10, settings=get_settings(server.url), progress=False)
    assert _cache_files(cache_dir) == []
    with pytest.raises(CorruptFileError, match=rf"line 4 of .*cat.ndjson {problem}.*mirror \(DOODLEKIT_DATA\)"):
        load_drawings("cat", 10, settings=get_settings(data_dir=tmp_path), progress=False)
    assert len(load_drawings("cat", 3, settings=get_settings(data_dir=tmp_path), progress=False)) == 3


# 4. raw tracebacks -> clear errors ---------------------------------------------------------------

@pytest.mark.parametrize(("mode", "header"), [("bad_length", "Content-Length"), ("bad_range", "Content-Range")])
def test_unreadable_length_or_range_headers_are_download_errors(remote: MirrorServer, cache_dir: Path,
                                                                mode: str, header: str) -> None:
    remote.misbehave(mode)
    with pytest.raises(DownloadError, match=rf"unreadable {header} header"):
        load_bitmaps("cat", 10, progress=False)
    with pytest.raises(DownloadError, match=rf"unreadable {header} header"):
        load_drawings("cat", 10, progress=False)
    assert _cache_files(cache_dir) == []


@pytest.mark.parametrize("url", ["notaurl", "ftp://example.com/x", "http://", "https:///path"])
def test_url_that_is_not_http_is_refused_at_once(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SettingsError, match=r"not an http\(s\) URL with a host"):
        get_settings(url)
    code = cli.main(["fetch", "--categories", "cat", "--per-class", "5", "--url", url])
    err = capsys.readouterr().err
    assert code != 0 and len(err.strip().splitlines()) == 1 and "--url" in err


def _npy_v2(header: bytes, claimed_len: int) -> bytes:
    return b"\x93NUMPY\x02\x00" + claimed_len.to_bytes(4, "little") + header


def test_absurd_npy_headers_are_refused_before_reading(tmp_path: Path, mirror: Path, cache_dir: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "numpy_bitmap"
    folder.mkdir()
    (folder / "cat.npy").write_bytes(_npy_v2(b"{'descr': '|u1'" + b" " * 200_000, 1 << 30))
    np.save(folder / "dog.npy", np.zeros((5, 784), np.uint8))  # header says 5 rows ...
    (folder / "dog.npy").write_bytes((folder / "dog.npy").read_bytes()[:-3 * 784])  # ... the file has 2
    np.save(folder / "bee.npy", np.zeros((5, 28, 28), np.uint8))
    monkeypatch.delenv("DOODLEKIT_DATA")
    with MirrorServer(tmp_path) as server:
        settings = get_settings(server.url)
        with pytest.raises(CorruptFileError, match=r"claims a 1,073,741,836-byte \.npy header"):
            load_bitmaps("cat", 2, settings=settings, progress=False)
        assert server.bytes_sent < 1000
        with pytest.raises(CorruptFileError, match=r"header says 5 rows"):
            load_bitmaps("dog", 1, settings=settings, progress=False)
        with pytest.raises(CorruptFileError, match=r"not \(N, 784\) uint8"):
            load_bitmaps("bee", 1, settings=settings, progress=False)
    assert _cache_files(cache_dir) == []


def test_a_missing_cache_file_is_said_to_be_missing(remote: MirrorServer, cache_dir: Path) -> None:
    load_bitmaps("cat", 10, progress=False)
    (cache_dir / CAT).unlink()
    with pytest.raises(CorruptFileError) as info:
        load_bitmaps("cat", 10, progress=False, download=False)
    assert "file is missing" in str(info.value) and "-1 bytes" not in str(info.value)


def test_a_killed_downloads_old_part_file_is_removed_at_the_next_download(remote: MirrorServer,
                                                                          cache_dir: Path) -> None:
    folder = cache_dir / "numpy_bitmap"
    folder.mkdir(parents=True)
    old, fresh, other = folder / ".cat.npy.k1ll3d.part", folder / ".cat.npy.l1v3.part", folder / ".dog.npy.x.part"
    for part in (old, fresh, other):
        part.write_bytes(b"half a download")
    past = time.time() - 3600
    os.utime(old, (past, past))
    os.utime(other, (past, past))
    load_bitmaps("cat", 10, progress=False)
    assert not old.exists() and fresh.exists() and other.exists()


# 5. timeout --------------------------------------------------------------------------------------

def test_the_timeout_is_a_setting_and_its_error_says_how_to_change_it(remote: MirrorServer,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_settings().timeout is None and get_settings(timeout=12).timeout == 12.0
    monkeypatch.setenv("DOODLEKIT_TIMEOUT", "0.2")
    assert get_settings().timeout == 0.2
    remote.misbehave("slow", delay=1.0)
    began = time.monotonic()
    with pytest.raises(DownloadError, match=r"timed out: the server sent nothing for 0\.2 s.*"
                                            r"set DOODLEKIT_TIMEOUT \(seconds, now 0\.2\)"):
        load_bitmaps("cat", 10, progress=False)
    assert time.monotonic() - began < 10
    for bad in ("soon", "0", "-1", "nan"):
        monkeypatch.setenv("DOODLEKIT_TIMEOUT", bad)
        with pytest.raises(SettingsError, match="DOODLEKIT_TIMEOUT"):
            get_settings()


def test_every_new_error_is_a_doodlekit_error() -> None:
    assert issubclass(SettingsError, DoodleKitError) and issubclass(SettingsError, ValueError)
