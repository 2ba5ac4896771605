"""binder/: the files mybinder.org (repo2docker) builds the image from, tested offline.

The image itself cannot be built here. What can be run is: binder/postBuild, in a fresh venv
with the kit installed into it, against a loopback copy of the bucket (and of PyPI's animal-mnist
wheel), with no data setting at all; afterwards the lessons' data must be in the default cache,
$HOME/.cache/doodlekit. The slow test then follows a learner: every notebook, in order, in a fresh kernel of that venv, with an
environment of nothing but HOME and PATH, the bucket gone and nothing downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
import time
import tomllib
import venv
from pathlib import Path

import nbformat
import numpy as np
import pytest
from http_mirror import MirrorServer
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from packaging.specifiers import SpecifierSet

from doodlekit.data import (
    DEFAULT_CATEGORIES,
    WHEEL_NAME,
    get_settings,
    load_bitmaps,
    load_drawings,
    read_wheel,
    relative_path,
)
from doodlekit.experiments.lessons import LESSON
from doodlekit.model import heldout_split

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
#: Rows per category that postBuild fetches, by format.
POSTBUILD_ROWS = {"bitmap": 2000, "simplified": 200, "raw": 200}
#: Rows per file of the long bucket: more than postBuild fetches, as in the real bucket.
LONG_ROWS = {"bitmap": 2500, "simplified": 250, "raw": 250}
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: Seconds one notebook cell may take on the Binder path (a lesson model may be trained there).
CELL_TIMEOUT_S = 900


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


def run_postbuild(bin_dir: Path, home: Path, bucket_url: str, wheel_url: str) -> None:
    """Run binder/postBuild as repo2docker does, with the venv first on PATH and no data setting but the two
    servers: the bucket's and the Animal-MNIST wheel's (``wheel_url``, in place of PyPI's)."""
    postbuild = BINDER / "postBuild"
    assert os.access(postbuild, os.X_OK), "binder/postBuild must be executable (git update-index --chmod=+x)"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DOODLEKIT_", "JUPYTER_")) and key not in ("XDG_CACHE_HOME", "VIRTUAL_ENV")}
    env.update(HOME=str(home), PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", DOODLEKIT_QUICKDRAW_URL=bucket_url,
               DOODLEKIT_ANIMAL_MNIST_URL=wheel_url)
    run = subprocess.run([postbuild], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"binder/postBuild failed:\n{run.stdout}\n{run.stderr}"


def wheel_folder(folder: Path, wheel: Path) -> Path:
    """A folder serving the real animal-mnist wheel, as PyPI would."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(wheel, folder / WHEEL_NAME)
    return folder


@pytest.mark.slow
def test_postbuild_fetches_the_lesson_data_into_the_default_cache(
    tmp_path: Path, mirror: Path, http_mirror: MirrorServer, monkeypatch: pytest.MonkeyPatch, animal_mnist_wheel: Path,
    animal_mnist_dir: Path,
) -> None:
    bin_dir = fresh_venv_with_the_kit(tmp_path / "venv")
    home = tmp_path / "home"
    home.mkdir()

    with MirrorServer(wheel_folder(tmp_path / "pypi", animal_mnist_wheel)) as pypi:
        run_postbuild(bin_dir, home, http_mirror.url, f"{pypi.url}/{WHEEL_NAME}")

    # Read back as a notebook on Binder would: no setting but HOME, nothing left to download.
    for key in ("DOODLEKIT_DATA", "DOODLEKIT_CACHE", "DOODLEKIT_QUICKDRAW_URL", "XDG_CACHE_HOME"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(home))
    assert get_settings().cache_dir == home / ".cache" / "doodlekit"
    silhouettes = read_wheel(home / ".cache" / "doodlekit" / "animal_mnist" / WHEEL_NAME)
    assert np.array_equal(silhouettes.images, np.load(animal_mnist_dir / "images.npy", allow_pickle=False))
    for category in DEFAULT_CATEGORIES:
        source = np.load(mirror / relative_path(category, "bitmap"), mmap_mode="r", allow_pickle=False)
        bitmaps = load_bitmaps(category, POSTBUILD_ROWS["bitmap"], download=False, progress=False)
        assert np.array_equal(bitmaps, source[: POSTBUILD_ROWS["bitmap"]]), f"cached bitmaps of {category!r} differ"
        for fmt in ("simplified", "raw"):
            with open(mirror / relative_path(category, fmt), encoding="utf-8") as fh:
                expected = [json.loads(line) for line, _ in zip(fh, range(POSTBUILD_ROWS[fmt]))]
            drawings = load_drawings(category, POSTBUILD_ROWS[fmt], fmt=fmt, download=False, progress=False)
            assert drawings == expected, f"cached {fmt} drawings of {category!r} differ from the bucket's"
    # Idle kernels are culled: the Jupyter server of the image loads binder/'s settings from the user's config.
    wanted = json.loads((BINDER / "jupyter_server_config.json").read_text())["MappingKernelManager"]
    assert wanted["cull_idle_timeout"] > 0 and wanted["cull_connected"], wanted
    env = {key: value for key, value in os.environ.items() if not key.startswith("JUPYTER")}
    env["HOME"] = str(home)
    shown = subprocess.run([bin_dir / "python", "-m", "jupyterlab", "--show-config", "--allow-root"],
                           env=env, capture_output=True, text=True, timeout=120)
    assert str(home / ".jupyter" / "jupyter_server_config.json") in shown.stdout, shown.stdout + shown.stderr
    for key, value in wanted.items():
        assert f".{key} = {value!r}" in shown.stdout, f"the server does not load {key}={value}:\n{shown.stdout}"


def long_bucket(folder: Path, mirror: Path) -> Path:
    """A bucket whose files of the default categories are longer than postBuild's prefetch, as in the
    real bucket (the mirror's are shorter): real rows and lines of the mirror, repeated to length; and the
    mirror's simplified files of the categories notebook 06 calibrates its "not sure" rule on."""
    for category in heldout_split(LESSON.categories)[0]:
        target = folder / relative_path(category, "simplified")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mirror / relative_path(category, "simplified"), target)
    for category in DEFAULT_CATEGORIES:
        bitmap = folder / relative_path(category, "bitmap")
        bitmap.parent.mkdir(parents=True, exist_ok=True)
        rows = np.load(mirror / relative_path(category, "bitmap"), allow_pickle=False)
        np.save(bitmap, np.resize(rows, (max(LONG_ROWS["bitmap"], len(rows)), rows.shape[1])))
        for fmt in ("simplified", "raw"):
            target = folder / relative_path(category, fmt)
            target.parent.mkdir(parents=True, exist_ok=True)
            lines = (mirror / relative_path(category, fmt)).read_text(encoding="utf-8").splitlines()
            target.write_text("".join(lines[i % len(lines)] + "\n" for i in range(max(LONG_ROWS[fmt], len(lines)))),
                              encoding="utf-8")
    return folder


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every data file under ``folder``: (size, mtime in ns), by relative path. Lock files are left
    out: reading a cached file takes its cross-process lock, which touches the empty ``.lock``."""
    return {str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*")) if path.is_file() and path.suffix != ".lock"}


def _kernel_environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().partition("=")[::2] for item in raw if item)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_every_notebook_runs_as_on_binder(tmp_path: Path, mirror: Path, animal_mnist_wheel: Path) -> None:
    """The Binder path end to end: postBuild against a bucket longer than its prefetch, then every
    notebook in order, each in a fresh kernel of the image's Python, cwd the repository's notebooks/
    under HOME (as repo2docker lays it out), no setting but HOME and PATH, the bucket stopped and
    DOODLEKIT_QUICKDRAW_URL unset. Without network a download attempt fails the notebook; with one,
    the cache, which must not change, shows it. Prints the time each step took (``pytest -s``)."""
    bin_dir = fresh_venv_with_the_kit(tmp_path / "venv")
    home = tmp_path / "home"
    home.mkdir()
    bucket_folder = wheel_folder(long_bucket(tmp_path / "bucket", mirror), animal_mnist_wheel)  # PyPI's part too
    with MirrorServer(bucket_folder) as bucket:
        started = time.perf_counter()
        run_postbuild(bin_dir, home, bucket.url, f"{bucket.url}/{WHEEL_NAME}")
        postbuild_s = time.perf_counter() - started
        missing = sorted({r.path for r in bucket.requests if r.status >= 400})
    assert not missing, f"postBuild asked the bucket for files the long bucket lacks: {missing}"
    cache = home / ".cache" / "doodlekit"
    before = _snapshot(cache)
    lessons = home / "notebooks"
    shutil.copytree(ROOT / "notebooks", lessons, ignore=shutil.ignore_patterns("artifacts", ".ipynb_checkpoints"))
    specs = tmp_path / "kernels"
    (specs / "binder").mkdir(parents=True)
    (specs / "binder" / "kernel.json").write_text(json.dumps({
        "argv": [str(bin_dir / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (Binder)", "language": "python",
    }))
    env = {"HOME": str(home), "PATH": f"{bin_dir}{os.pathsep}{os.defpath}"}

    seconds: dict[str, float] = {}
    failures: dict[str, str] = {}
    for path in NOTEBOOKS:
        nb = nbformat.read(lessons / path.name, as_version=4)
        km = KernelManager(kernel_name="binder", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]))
        km.start_kernel(cwd=str(lessons), env=env)
        try:
            kernel_env = _kernel_environment(km.provisioner.process.pid)
            extra = sorted(key for key in kernel_env
                           if key not in env and not key.startswith(("JPY_", "LC_", "PYDEVD_")))
            assert not extra, f"the kernel of {path.name} sees settings Binder would not have: {extra}"
            client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(lessons)}})
            started = time.perf_counter()
            try:
                client.execute()
            except CellExecutionError as error:
                failures[path.name] = str(error)[-3000:]
            seconds[path.name] = round(time.perf_counter() - started, 1)
        finally:
            km.shutdown_kernel(now=True)
    print(f"\nBinder path: postBuild {postbuild_s:.0f} s; notebooks {json.dumps(seconds)}; "
          f"total {postbuild_s + sum(seconds.values()):.0f} s")

    assert not failures, "notebooks that fail on the Binder path:\n" + "\n\n".join(
        f"=== {name}\n{why}" for name, why in failures.items())
    assert _snapshot(cache) == before, "a notebook downloaded into the cache on the Binder path (it has no network)"
