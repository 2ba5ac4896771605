"""Integrity of the data layer under races, damaged files and bad settings (issue 10).

Two processes extending one cache file, checkpoints with flipped bytes, unusable cache
folders, misleading messages, file modes and Ctrl-C.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from http_mirror import MirrorServer

from doodlekit.data import load_bitmaps

ROOT = Path(__file__).resolve().parents[1]
CAT = Path("numpy_bitmap") / "cat.npy"

#: A process that loads ``n`` cat bitmaps; with a pause folder it stops right after reading the
#: sidecar (touching ``read``) until the test touches ``go``.
_EXTENDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from doodlekit.data import quickdraw
    n, pause = int(sys.argv[1]), sys.argv[2]
    if pause:
        original = quickdraw._load_sidecar
        def paused(path, fmt):
            meta = original(path, fmt)
            Path(pause, "read").touch()
            deadline = time.monotonic() + 30
            while not Path(pause, "go").exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            return meta
        quickdraw._load_sidecar = paused
    print(len(quickdraw.load_bitmaps("cat", n, progress=False)))
""")


def _extender(n: int, pause: Path | None, cache_dir: Path, url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DOODLEKIT_CACHE": str(cache_dir), "DOODLEKIT_QUICKDRAW_URL": url,
           "PYTHONPATH": str(ROOT)}
    env.pop("DOODLEKIT_DATA", None)
    return subprocess.Popen([sys.executable, "-c", _EXTENDER, str(n), str(pause or "")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return path.exists()


def test_two_processes_extending_one_cache_file_never_mix_rows(remote: MirrorServer, mirror: Path,
                                                                 cache_dir: Path, tmp_path: Path) -> None:
    load_bitmaps("cat", 50, progress=False)
    pause = tmp_path / "pause"
    pause.mkdir()
    first = _extender(300, pause, cache_dir, remote.url)
    assert _wait_for(pause / "read", 30), first.communicate()
    second = _extender(200, None, cache_dir, remote.url)
    try:
        second.wait(timeout=4)  # without a lock it extends the file under the paused process
    except subprocess.TimeoutExpired:
        pass  # it waits for the lock the paused process holds
    (pause / "go").touch()
    outputs = [proc.communicate(timeout=60) for proc in (first, second)]
    assert [proc.returncode for proc in (first, second)] == [0, 0], outputs
    assert [out.strip() for out, _ in outputs] == ["300", "200"]
    cached = cache_dir / CAT
    side = json.loads((cached.parent / (cached.name + ".json")).read_text())
    rows = np.load(cached)
    assert side["rows"] == len(rows) == 300
    assert np.array_equal(rows, np.load(mirror / CAT)[:300])
    assert np.array_equal(load_bitmaps("cat", 300, progress=False), np.load(mirror / CAT)[:300])


# --- checkpoints -------------------------------------------------------------------------------------------

def _resaved_reference(tmp_path: Path) -> Path:
    """The reference CE lesson model, saved again by this doodlekit (so with a weights digest)."""
    from doodlekit.model.checkpoints import load_checkpoint, save_checkpoint
    from doodlekit.reference import REFERENCE_DIR

    model, meta = load_checkpoint(REFERENCE_DIR / "lesson-ce.pt")
    return save_checkpoint(tmp_path / "model.pt", model, categories=meta["categories"],
                           label_vectors=meta["label_vectors"], config=meta["config"], metrics=meta["metrics"])


def _flip_a_weight_byte(path: Path) -> None:
    """Flip one byte in the middle of the checkpoint's largest tensor (stored uncompressed in the zip)."""
    import struct
    import zipfile

    with zipfile.ZipFile(path) as archive:
        info = max((i for i in archive.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    data = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    data[start + info.file_size // 2] ^= 0x10
    path.write_bytes(bytes(data))


def test_a_flipped_byte_in_checkpoint_weights_is_caught(tmp_path: Path) -> None:
    from doodlekit.errors import CorruptFileError
    from doodlekit.model.checkpoints import load_checkpoint

    path = _resaved_reference(tmp_path)
    load_checkpoint(path)  # intact: loads
    _flip_a_weight_byte(path)
    with pytest.raises(CorruptFileError, match=rf"(?s){path.name} is damaged: its weights do not match.*save"):
        load_checkpoint(path)


def test_reference_checkpoints_without_a_digest_still_load() -> None:
    import torch

    from doodlekit.model.checkpoints import load_checkpoint
    from doodlekit.reference import REFERENCE_DIR

    paths = sorted(REFERENCE_DIR.glob("lesson-*.pt"))
    older = [path for path in paths if "state_sha256" not in torch.load(path, weights_only=True)]
    assert len(older) >= 3  # ce, fixed and adaptive margin predate the digest (dvsq, later, has one)
    for path in paths:
        _, meta = load_checkpoint(path)
        assert meta["categories"]


@pytest.mark.parametrize("content", [b"this is a text file, not a checkpoint\n", b""])
def test_a_text_or_empty_file_is_not_a_checkpoint(tmp_path: Path, content: bytes) -> None:
    from doodlekit.errors import CorruptFileError
    from doodlekit.model.checkpoints import load_checkpoint

    path = tmp_path / "notes.pt"
    path.write_bytes(content)
    with pytest.raises(CorruptFileError, match=r"notes\.pt is not a readable doodlekit checkpoint.*save"):
        load_checkpoint(path)


def test_an_empty_npz_is_a_corrupt_file(tmp_path: Path) -> None:
    from doodlekit.data import files
    from doodlekit.errors import CorruptFileError

    path = tmp_path / "index.npz"
    path.write_bytes(b"")
    with pytest.raises(CorruptFileError, match=r"index\.npz cannot be read as a search index.*build it again"):
        files.read_npz(path, ["codes"], what="search index", remedy="build it again")


# --- reproduce and CLI arguments, checked before any work ----------------------------------------------------

def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from doodlekit import cli

    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any training fails the test: arguments must be refused before."""
    from doodlekit.experiments import reproduce

    def train(*args: object, **kwargs: object) -> None:
        raise AssertionError("trained before checking the arguments")

    monkeypatch.setattr(reproduce, "_one_run", train)
    monkeypatch.setattr(reproduce, "QuickDrawBitmaps", train)


_SMALL = ["--categories", "cat,dog,horse,lion,train", "--heldout", "lion,train", "--no-progress"]


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder that cannot be created or written, even by root (who ignores permission bits)."""
    if os.geteuid() == 0:
        if not Path("/sys").is_dir():
            pytest.skip("running as root without /sys: no folder is read-only")
        return Path("/sys/doodlekit-out")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    return locked / "out"


@pytest.mark.parametrize("seeds", ["9223372036854775808", "99999999999999999999999", "0," + "9" * 5000])
def test_huge_seeds_are_a_usage_error(seeds: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from doodlekit import cli

    with pytest.raises(SystemExit) as info:
        cli.main(["reproduce", "--out", str(tmp_path / "out"), "--seeds", seeds])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "below 2**63" in err and len(err) < 1000


@pytest.mark.parametrize("seeds", [[2**63], [-1], [0, 2**64]])
def test_out_of_range_seeds_fail_in_run(seeds: list[int], tmp_path: Path, no_training: None) -> None:
    from doodlekit.errors import RunConfigError
    from doodlekit.experiments.reproduce import run

    with pytest.raises(RunConfigError, match=r"seeds must be distinct whole numbers from 0 to 2\*\*63 - 1"):
        run(tmp_path / "out", "cat,dog,horse,lion,train", "lion,train", seeds=seeds, progress=False)


@pytest.mark.parametrize("where", ["under a file", "read-only"])
def test_unwritable_out_fails_before_training(where: str, tmp_path: Path, no_training: None,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    if where == "under a file":
        (tmp_path / "a-file").write_text("x")
        out = tmp_path / "a-file" / "out"
    else:
        out = _unwritable_folder(tmp_path)
    code, stdout, err = _cli(["reproduce", "--out", str(out), *_SMALL], capsys)
    assert code == 2 and stdout == ""
    assert err.startswith(f"doodlekit reproduce: error: --out {out} cannot be written") and err.count("\n") == 1
    assert "pass a folder you can write to" in err


@pytest.mark.parametrize("option", ["--categories", "--heldout", "--out", "--vectors"])
def test_empty_reproduce_values_are_usage_errors(option: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from doodlekit import cli

    argv = ["reproduce", "--out", str(tmp_path / "out"), option, " "]
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2 and f"argument {option}: must not be empty" in capsys.readouterr().err


def test_empty_out_fails_in_run(no_training: None) -> None:
    from doodlekit.errors import RunConfigError
    from doodlekit.experiments.reproduce import run

    with pytest.raises(RunConfigError, match="--out is empty"):
        run("", "cat,dog,horse,lion,train", "lion,train", progress=False)


# --- unusable cache folders ---------------------------------------------------------------------------------

@pytest.mark.parametrize("problem", ["cache is a file", "cache file is a folder", "read-only cache"])
def test_an_unusable_cache_is_one_clear_error(problem: str, remote: MirrorServer, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from doodlekit.data import get_settings
    from doodlekit.errors import CacheFolderError

    cache = tmp_path / "cache"
    if problem == "cache is a file":
        cache.write_text("not a folder")
        expected = "is a file, not a folder"
    elif problem == "cache file is a folder":
        (cache / CAT).mkdir(parents=True)
        expected = "is a folder, not a file"
    else:
        cache = _unwritable_folder(tmp_path)
        expected = "is read-only"
    with pytest.raises(CacheFolderError, match=rf"cache folder {cache}.*{expected}.*DOODLEKIT_CACHE \(or --cache\)"):
        load_bitmaps("cat", 10, settings=get_settings(cache_dir=cache), progress=False)
    code, out, err = _cli(["fetch", "--categories", "cat", "--per-class", "10", "--cache", str(cache),
                           "--no-progress"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and expected in err


def test_a_read_only_cache_can_still_be_read_without_downloading(remote: MirrorServer, tmp_path: Path) -> None:
    from doodlekit.data import get_settings
    from doodlekit.errors import DataNotFoundError

    cache = _unwritable_folder(tmp_path)
    with pytest.raises(DataNotFoundError, match="download=False"):
        load_bitmaps("cat", 10, settings=get_settings(cache_dir=cache), progress=False, download=False)


# --- messages -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mirror_state", ["unset", "missing folder", "lacks the file"])
def test_offline_errors_say_what_the_mirror_setting_is(mirror_state: str, refused_url: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from doodlekit.data import get_settings
    from doodlekit.errors import OfflineError

    monkeypatch.delenv("DOODLEKIT_DATA", raising=False)
    data = {"unset": None, "missing folder": tmp_path / "nowhere", "lacks the file": tmp_path}[mirror_state]
    expected = {"unset": r"no mirror \(DOODLEKIT_DATA not set\).*to work offline, set DOODLEKIT_DATA",
                "missing folder": rf"mirror {data} \(no such folder\).*{data}, does not exist",
                "lacks the file": rf"mirror {data}/{CAT} \(absent\).*mirror {data} .*lacks {CAT}"}[mirror_state]
    settings = get_settings(refused_url, data, tmp_path / "cache")
    with pytest.raises(OfflineError, match=rf"(?s)'cat'.*{expected}") as info:
        load_bitmaps("cat", 10, settings=settings, progress=False)
    if data is not None:
        assert "to work offline, set DOODLEKIT_DATA" not in str(info.value)


def test_full_width_and_huge_names() -> None:
    from doodlekit.data.categories import validate_category
    from doodlekit.errors import UnknownCategoryError

    with pytest.raises(UnknownCategoryError, match='did you mean "cat"'):
        validate_category("ｃａｔ")
    with pytest.raises(UnknownCategoryError) as info:
        validate_category("x" * 100_000)
    assert len(str(info.value)) < 300 and "100,000 characters" in str(info.value)


# --- leftovers --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_atomic_writes_get_the_mode_open_would(umask: int, tmp_path: Path) -> None:
    from doodlekit.data import files

    old = os.umask(umask)
    try:
        files.write_atomic(tmp_path / "atomic.bin", b"x")
        with open(tmp_path / "plain.bin", "wb") as fh:
            fh.write(b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "atomic.bin").stat().st_mode & 0o777 == (tmp_path / "plain.bin").stat().st_mode & 0o777
    assert (tmp_path / "atomic.bin").stat().st_mode & 0o777 == 0o666 & ~umask


def test_ctrl_c_in_the_cli_is_one_line_and_status_130(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from doodlekit import cli

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "fetch", interrupted)
    code, out, err = _cli(["fetch", "--categories", "cat", "--per-class", "10"], capsys)
    assert (code, out, err) == (130, "", "doodlekit fetch: interrupted\n")


# --- word-vector files ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "message"), [
    ("1 3\ncar 1 2 3\ncat 1 1 1\n", "holds 2 entries but its first line says 1"),
    ("1 999999999999\ncar 1 2 3\n", "999,999,999,999 dimensions"),
    ("2 3\ncar nan 2 3\ncat 1 1 1\n", "token 'car' has a vector with NaN values"),
])
def test_bad_word2vec_files_are_clear_errors(content: str, message: str, tmp_path: Path) -> None:
    from doodlekit.errors import DoodleKitError
    from doodlekit.semantics.labels import label_vectors

    path = tmp_path / "vectors.w2v.txt"
    path.write_text(content)
    with pytest.raises(DoodleKitError, match=re.escape(message)):
        label_vectors(f"file:{path}", ["car", "cat"])
