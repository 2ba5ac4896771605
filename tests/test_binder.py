"""binder/: the files mybinder.org (repo2docker) builds the image from, tested offline.

The image itself cannot be built here. What can be run is: binder/postBuild, in a fresh venv
with the kit installed into it, against a loopback copy of the bucket, with no data setting at
all; afterwards the lessons' data must be in the default cache, $HOME/.cache/doodlekit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sysconfig
import tomllib
import venv
from pathlib import Path

import numpy as np
import pytest
from http_mirror import MirrorServer
from packaging.specifiers import SpecifierSet

from doodlekit.categories import DEFAULT_CATEGORIES
from doodlekit.config import get_settings, relative_path
from doodlekit.quickdraw import load_bitmaps, load_drawings

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
#: Rows per category that postBuild fetches, by format.
POSTBUILD_ROWS = {"bitmap": 2000, "simplified": 200, "raw": 200}


def test_requirements_install_the_kit_with_cpu_torch() -> None:
    text = (BINDER / "requirements.txt").read_text()
    lines = [line for line in (raw.split("#", 1)[0].strip() for raw in text.splitlines()) if line]
    assert lines == ["--extra-index-url https://download.pytorch.org/whl/cpu", ".[lab]"], (
        "binder/requirements.txt installs the kit with its lab extra ('.[lab]') and PyTorch's CPU wheel "
        f"index, nothing else: the dependency list lives in pyproject.toml. Found: {lines}"
    )
    assert "lab" in PROJECT["optional-dependencies"]


def test_runtime_python_satisfies_requires_python() -> None:
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert runtime.startswith("python-"), f"binder/runtime.txt should read python-X.Y, not {runtime!r}"
    version = runtime.removeprefix("python-")
    assert SpecifierSet(PROJECT["requires-python"]).contains(version), (
        f"binder/runtime.txt asks for Python {version}; pyproject.toml requires {PROJECT['requires-python']}"
    )


def fresh_venv_with_the_kit(where: Path) -> Path:
    """A new venv with the kit installed as on Binder (pip, from the repo); returns its bin folder.

    Its dependencies are this environment's, seen through a .pth file, so nothing is downloaded:
    the kit is installed offline (no index, no build isolation) with this environment's pip.
    """
    venv.create(where, with_pip=False)
    python = where / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    ours = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (Path(site) / "test-environment.pth").write_text("\n".join(ours) + "\n")
    install = subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--no-index", "--no-build-isolation", "-e", str(ROOT)],
        capture_output=True, text=True,
    )
    assert install.returncode == 0, f"pip install -e . into a fresh venv failed:\n{install.stdout}\n{install.stderr}"
    assert (where / "bin" / "doodlekit").is_file(), "pip did not install the `doodlekit` console command"
    return where / "bin"


def test_postbuild_fetches_the_lesson_data_into_the_default_cache(
    tmp_path: Path, mirror: Path, http_mirror: MirrorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    postbuild = BINDER / "postBuild"
    assert os.access(postbuild, os.X_OK), "binder/postBuild must be executable (git update-index --chmod=+x)"
    bin_dir = fresh_venv_with_the_kit(tmp_path / "venv")
    home = tmp_path / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("DOODLEKIT_") and key not in ("XDG_CACHE_HOME", "VIRTUAL_ENV")}
    env.update(HOME=str(home), PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", DOODLEKIT_QUICKDRAW_URL=http_mirror.url)

    run = subprocess.run([postbuild], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)

    assert run.returncode == 0, f"binder/postBuild failed:\n{run.stdout}\n{run.stderr}"
    # Read back as a notebook on Binder would: no setting but HOME, nothing left to download.
    for key in ("DOODLEKIT_DATA", "DOODLEKIT_CACHE", "DOODLEKIT_QUICKDRAW_URL", "XDG_CACHE_HOME"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(home))
    assert get_settings().cache_dir == home / ".cache" / "doodlekit"
    for category in DEFAULT_CATEGORIES:
        source = np.load(mirror / relative_path(category, "bitmap"), mmap_mode="r", allow_pickle=False)
        bitmaps = load_bitmaps(category, POSTBUILD_ROWS["bitmap"], download=False, progress=False)
        assert np.array_equal(bitmaps, source[: POSTBUILD_ROWS["bitmap"]]), f"cached bitmaps of {category!r} differ"
        for fmt in ("simplified", "raw"):
            with open(mirror / relative_path(category, fmt), encoding="utf-8") as fh:
                expected = [json.loads(line) for line, _ in zip(fh, range(POSTBUILD_ROWS[fmt]))]
            drawings = load_drawings(category, POSTBUILD_ROWS[fmt], fmt=fmt, download=False, progress=False)
            assert drawings == expected, f"cached {fmt} drawings of {category!r} differ from the bucket's"
