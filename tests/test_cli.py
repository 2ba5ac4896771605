"""The ``doodlekit`` command: ``fetch`` in-process and through ``python -m doodlekit``."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest
from http_mirror import MirrorServer

from doodlekit import cli
from doodlekit.data import Settings, get_settings

ROOT = Path(__file__).resolve().parents[1]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_fetch_from_the_mirror_prints_rows_source_and_total(capsys: pytest.CaptureFixture[str],
                                                             mirror: Path) -> None:
    code, out, err = _run(["fetch", "--categories", "cat, The Mona Lisa", "--per-class", "2000"], capsys)
    assert code == 0 and err == ""
    cat, mona, total = out.splitlines()
    assert cat.split()[:4] == ["cat", "2000", "rows", "mirror"]
    mona_rows = (mirror / "numpy_bitmap" / "The Mona Lisa.npy").stat().st_size // 784
    assert mona.split()[3:6] == [str(mona_rows), "rows", "mirror"]
    assert total.split()[:3] == ["total", str(2000 + mona_rows), "rows"] and "0 B downloaded" in total


def test_fetch_downloads_then_reads_the_cache(remote: MirrorServer, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["fetch", "--categories", "hot dog,cat", "--per-class", "20", "--format", "simplified",
            "--url", remote.url, "--cache", str(tmp_path), "--no-progress"]
    code, out, _ = _run(argv, capsys)
    assert code == 0
    hot_dog, cat = out.splitlines()[:2]
    assert hot_dog.startswith("hot dog ") and cat.startswith("cat ")
    assert all(" 20 rows  download " in line and "KiB" in line for line in (hot_dog, cat))
    assert (tmp_path / "simplified" / "hot dog.ndjson").is_file()
    code, out, _ = _run(argv, capsys)
    assert code == 0 and out.count(" cache ") == 2 and "0 B downloaded" in out


def test_data_option_points_at_a_mirror(monkeypatch: pytest.MonkeyPatch, mirror: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("DOODLEKIT_DATA")
    code, out, _ = _run(["fetch", "--categories", "dog", "--per-class", "5", "--format", "raw",
                         "--data", str(mirror)], capsys)
    assert code == 0 and str(mirror / "raw" / "dog.ndjson") in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--categories", "cat,hot-dog"], 'did you mean "hot dog"'),
     (["--categories", "hot dog"], "404 Not Found"),
     (["--categories", "cat", "--url", "{refused}", "--data", "{empty}"], "lacks numpy_bitmap/cat.npy")],
)
def test_errors_are_one_line_on_stderr_with_status_2(argv: list[str], message: str, refused_url: str,
                                                     http_mirror: MirrorServer, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    argv = [a.format(refused=refused_url, empty=tmp_path) for a in argv]
    code, out, err = _run(["fetch", "--per-class", "10", "--url", http_mirror.url, "--no-progress", *argv], capsys)
    assert code == 2 and out == ""
    assert err.startswith("doodlekit fetch: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("argv", [["fetch", "--categories", "cat", "--per-class", "0"],
                                  ["fetch", "--categories", "cat", "--per-class", "many"],
                                  ["fetch", "--categories", "cat", "--per-class", "5", "--format", "png"],
                                  ["fetch", "--per-class", "5"], []])
def test_bad_usage_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2 and "usage: doodlekit" in capsys.readouterr().err


def test_reproduce_data_options_reach_run_as_one_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from doodlekit.experiments import reproduce

    seen: dict[str, Settings] = {}

    def fake_run(out: str, *args: object, settings: Settings, **kwargs: object) -> dict:
        seen["settings"] = settings
        return {"elapsed_seconds": 0.0, "summary": "fake"}

    monkeypatch.setattr(reproduce, "run", fake_run)
    monkeypatch.setenv("DOODLEKIT_QUICKDRAW_URL", "http://env.example/full")
    argv = ["reproduce", "--out", str(tmp_path / "out"), "--data", str(tmp_path / "m"), "--cache", str(tmp_path / "c"),
            "--url", "http://arg.example/full/"]
    code, out, _ = _run(argv, capsys)
    assert code == 0 and out.endswith(" in 0 s\nfake\n")
    assert seen["settings"] == Settings("http://arg.example/full", tmp_path / "m", tmp_path / "c")
    assert _run(["reproduce", "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "c")], capsys)[0] == 0
    assert seen["settings"] == get_settings(cache_dir=tmp_path / "c")  # the rest from the environment
    assert seen["settings"].base_url == "http://env.example/full"


@pytest.mark.parametrize("command", [["fetch", "--categories", "cat", "--per-class", "5"], ["reproduce", "--out", "x"]])
@pytest.mark.parametrize("option", ["--data", "--cache", "--url"])
def test_empty_data_option_is_a_usage_error(command: list[str], option: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main([*command, option, ""])
    err = capsys.readouterr().err
    assert info.value.code == 2 and f"argument {option}: must not be empty" in err


def test_subcommands_are_registered_by_one_function_each(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    def add_hello(subparsers: argparse._SubParsersAction) -> None:
        parser = subparsers.add_parser("hello")
        parser.add_argument("--name", default="doodle")
        parser.set_defaults(run=lambda args: print(f"hi {args.name}") or 0)

    monkeypatch.setattr(cli, "SUBCOMMANDS", [*cli.SUBCOMMANDS, add_hello])
    assert _run(["hello", "--name", "cat"], capsys)[:2] == (0, "hi cat\n")
    assert {"fetch", "hello"} <= set(cli.build_parser()._subparsers._group_actions[0].choices)


def test_python_dash_m_doodlekit(mirror: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "doodlekit", "fetch", "--categories", "cat,dog", "--per-class",
                           "30", "--no-progress"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [line.split()[:4] for line in done.stdout.splitlines()[:2]] == [["cat", "30", "rows", "mirror"],
                                                                          ["dog", "30", "rows", "mirror"]]
    failed = subprocess.run([sys.executable, "-m", "doodlekit", "fetch", "--categories", "hot-dog", "--per-class",
                             "3"], env=env, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 2 and failed.stderr.count("\n") == 1 and "hot dog" in failed.stderr
