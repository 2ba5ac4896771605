"""HTTP Range downloads against a loopback server: resume, retries, errors, atomic writes."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from http_mirror import MirrorServer
from tqdm import tqdm

from doodlekit.data import fetch, files, get_settings, http, load_bitmaps, load_drawings
from doodlekit.errors import CorruptFileError, DataNotFoundError, DownloadError, OfflineError

ROOT = Path(__file__).resolve().parents[1]
CAT = "numpy_bitmap/cat.npy"


def _transfer(server: MirrorServer, rel: str) -> http.Transfer:
    return http.Transfer(url=f"{server.url}/{rel}", bar=tqdm(disable=True))


def _cache_files(cache_dir: Path) -> list[str]:
    """Files in the cache, less the cross-process locks (``<file>.lock``, empty) that stay behind."""
    return sorted(str(p.relative_to(cache_dir)) for p in cache_dir.rglob("*") if p.is_file() and p.suffix != ".lock")


def test_range_gives_exactly_the_bytes_asked(remote: MirrorServer, mirror: Path) -> None:
    t = _transfer(remote, CAT)
    got = b"".join(http.iter_range(t, 1000, 5000))
    assert got == (mirror / CAT).read_bytes()[1000:5000]
    assert t.bytes_moved == remote.bytes_sent == 4000
    assert t.remote_size == (mirror / CAT).stat().st_size
    assert [r.range for r in remote.requests] == ["bytes=1000-4999"]


def test_range_past_the_end_is_empty_not_an_error(remote: MirrorServer, mirror: Path) -> None:
    size = (mirror / CAT).stat().st_size
    t = _transfer(remote, CAT)
    assert b"".join(http.iter_range(t, size - 10, size + 1000)) == (mirror / CAT).read_bytes()[-10:]
    assert b"".join(http.iter_range(t, size + 5)) == b""
    assert t.remote_size == size


def test_reset_mid_body_resumes_from_what_arrived(remote: MirrorServer, mirror: Path) -> None:
    remote.misbehave("reset", times=1)
    t = _transfer(remote, CAT)
    sink = io.BytesIO()
    http.copy_range(t, 0, 1_000_000, sink)
    assert sink.getvalue() == (mirror / CAT).read_bytes()[:1_000_000]
    first, second = remote.requests
    resumed_at = int(second.range.split("=")[1].split("-")[0])
    assert first.range == "bytes=0-999999" and 0 < resumed_at <= 500_000
    assert t.bytes_moved == 1_000_000


def test_transient_500_is_retried(remote: MirrorServer, mirror: Path) -> None:
    remote.misbehave("500", times=2)
    rows = load_bitmaps("cat", 20, progress=False)
    assert np.array_equal(rows, np.load(mirror / CAT)[:20])
    assert [r.status for r in remote.requests][:2] == [500, 500]


def test_persistent_500_is_a_download_error(remote: MirrorServer, cache_dir: Path) -> None:
    remote.misbehave("500")
    with pytest.raises(DownloadError, match=r"500 Internal Server Error.*Try again later") as info:
        load_bitmaps("cat", 20, progress=False)
    assert not isinstance(info.value, OfflineError)
    assert len(remote.requests) == http.RETRIES + 1
    assert _cache_files(cache_dir) == []


def test_failed_download_leaves_no_file_and_no_temp(remote: MirrorServer, cache_dir: Path) -> None:
    load_bitmaps("cat", 10, progress=False)
    before = {p: p.read_bytes() for p in cache_dir.rglob("*") if p.is_file() and p.suffix != ".lock"}
    remote.misbehave("reset")
    with pytest.raises(DownloadError, match="reset|closed"):
        load_bitmaps("cat", 2000, progress=False)
    with pytest.raises(DownloadError):
        load_drawings("cat", 20, progress=False)
    assert {p: p.read_bytes() for p in cache_dir.rglob("*") if p.is_file() and p.suffix != ".lock"} == before
    remote.misbehave(None)
    assert load_bitmaps("cat", 2000, progress=False).shape == (2000, 784)


def test_atomic_file_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "file.bin"
    with files.atomic_file(target) as sink:
        sink.write(b"old")
    with pytest.raises(RuntimeError), files.atomic_file(target) as sink:
        sink.write(b"new, half")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.bin"]
    with files.atomic_file(target) as sink:
        sink.write(b"new")
    assert sink.size == 3 and sink.sha256 == files.sha256_file(target)


def test_write_npz_round_trips_plain_arrays_through_read_npz(tmp_path: Path) -> None:
    arrays = {"codes": np.arange(12, dtype=np.uint8).reshape(3, 4), "name": np.str_("itq"), "a.b": np.int64(32)}
    path = files.write_npz(tmp_path / "sub" / "arrays.npz", arrays)
    assert path == tmp_path / "sub" / "arrays.npz" and [p.name for p in path.parent.iterdir()] == ["arrays.npz"]
    back = files.read_npz(str(path), list(arrays), what="test archive", remedy="write it again")
    assert set(back) == set(arrays) and all(np.array_equal(back[key], arrays[key]) for key in arrays)
    with pytest.raises(ValueError, match="labels would be pickled into arrays.npz.*dtype=str"):
        files.write_npz(path, {"labels": np.array(["cat", None], dtype=object)})
    assert np.array_equal(files.read_npz(path, ["codes"], what="test archive", remedy="redo")["codes"], arrays["codes"])


def test_read_npz_errors_name_the_file_and_the_remedy(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match=r"no test archive at .*none\.npz; write it again"):
        files.read_npz(tmp_path / "none.npz", ["codes"], what="test archive", remedy="write it again")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file")
    with pytest.raises(CorruptFileError, match=r"cannot be read as a test archive .*; write it again"):
        files.read_npz(garbage, ["codes"], what="test archive", remedy="write it again")
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, labels=np.array(["cat", None], dtype=object))
    with pytest.raises(CorruptFileError, match="cannot be read as a test archive"):
        files.read_npz(pickled, ["labels"], what="test archive", remedy="write it again")
    partial = files.write_npz(tmp_path / "partial.npz", {"codes": np.zeros((2, 8), np.uint8)})
    with pytest.raises(CorruptFileError, match=r"is not a test archive \(missing labels, ids\); write it again"):
        files.read_npz(partial, ["codes", "labels", "ids"], what="test archive", remedy="write it again")


def test_killed_download_leaves_no_cache_file(remote: MirrorServer, cache_dir: Path, mirror: Path) -> None:
    remote.misbehave("slow", delay=0.02)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "doodlekit", "fetch", "--categories", "cat", "--per-class", "500", "--no-progress"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while remote.bytes_sent < 20_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert remote.bytes_sent >= 20_000
    assert not (cache_dir / CAT).exists()
    remote.misbehave(None)
    assert np.array_equal(load_bitmaps("cat", 500, progress=False), np.load(mirror / CAT)[:500])


def test_range_ignored_reads_only_what_was_asked(remote: MirrorServer, mirror: Path, cache_dir: Path) -> None:
    remote.misbehave("ignore_range")
    [report] = fetch(["cat"], 50, progress=False)
    header = 128
    assert report.bytes_downloaded <= 1.1 * 50 * 784 + 2 * header
    assert all(r.status == 200 for r in remote.requests)
    assert np.array_equal(load_bitmaps("cat", 50, progress=False), np.load(mirror / CAT)[:50])
    assert (cache_dir / CAT).stat().st_size == header + 50 * 784


def test_range_ignored_ndjson_stops_after_the_lines_asked(remote: MirrorServer, mirror: Path) -> None:
    remote.misbehave("ignore_range")
    lines = (mirror / "simplified" / "basketball.ndjson").read_bytes().splitlines(keepends=True)
    n = len(lines) // 4
    [report] = fetch(["basketball"], n, "simplified", progress=False)
    assert report.rows == n
    assert load_drawings("basketball", n, progress=False)[-1]["key_id"] in lines[n - 1].decode()
    first_chunk = max(http.MIN_LINE_CHUNK, int(0.9 * n * http.LINE_BYTES_GUESS))
    assert report.bytes_downloaded <= sum(map(len, lines[:n])) + first_chunk + http.CHUNK_BYTES
    assert report.bytes_downloaded < sum(map(len, lines)) / 2


def test_connection_refused_is_offline_error_saying_how_to_work_offline(refused_url: str, cache_dir: Path) -> None:
    with pytest.raises(OfflineError, match="DOODLEKIT_DATA") as info:
        load_bitmaps("cat", 10, settings=get_settings(refused_url, cache_dir / "no-mirror"), progress=False)
    assert isinstance(info.value, DownloadError)
    assert _cache_files(cache_dir) == []


def test_dns_failure_is_offline_error(monkeypatch: pytest.MonkeyPatch, cache_dir: Path) -> None:
    def no_dns(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.delenv("DOODLEKIT_DATA")
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(OfflineError, match=r"cannot reach quickdraw\.example.*work offline, set DOODLEKIT_DATA"):
        load_bitmaps("cat", 10, settings=get_settings("http://quickdraw.example/full"), progress=False)


def test_stalled_server_times_out_as_download_error(remote: MirrorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "TIMEOUT_S", 0.2)
    remote.misbehave("slow", delay=1.0)
    with pytest.raises(DownloadError, match="timed out"):
        load_bitmaps("cat", 10, progress=False)


def test_progress_bar_can_be_turned_off(remote: MirrorServer, capsys: pytest.CaptureFixture[str]) -> None:
    load_bitmaps("cat", 100, progress=True)
    assert "cat" in capsys.readouterr().err
    load_bitmaps("dog", 100, progress=False)
    assert capsys.readouterr().err == ""


def test_remote_file_that_is_not_bitmaps_is_corrupt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "numpy_bitmap").mkdir()
    np.save(tmp_path / "numpy_bitmap" / "cat.npy", np.zeros((4, 10), dtype=np.float32))
    (tmp_path / "numpy_bitmap" / "dog.npy").write_bytes(b"not an npy file" * 20)
    monkeypatch.delenv("DOODLEKIT_DATA")
    with MirrorServer(tmp_path) as server:
        with pytest.raises(CorruptFileError, match=r"not \(N, 784\) uint8"):
            load_bitmaps("cat", 2, settings=get_settings(server.url), progress=False)
        with pytest.raises(CorruptFileError, match="not a valid .npy"):
            load_bitmaps("dog", 2, settings=get_settings(server.url), progress=False)
