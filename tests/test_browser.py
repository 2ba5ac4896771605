"""The doodle pad in a real browser: JupyterLab, Notebook 7 and Voila drive Debian's Chromium.

Each test serves ``notebooks/06_draw_and_search.ipynb``, runs it, replays a real Quick, Draw!
drawing as mouse drags on the pad and checks that ink appears on the canvas and that the
drawing's category is among the top-5 predictions; then it clears the pad, draws a category the
model never saw and checks that the pad says "not sure" and gives a zero-shot guess among all 345
names. The Jupyter server is rooted, like ``make lab``'s and Binder's, at a folder laid out like the
repository, and Voila is reached through it at exactly the URL paths the README gives (read from
README.md). Both drawings are ones the model never trained on (``lessons.unseen_drawings``): the
first of a lesson category that the model, run headless through the same pad code as the notebook's,
puts first, and the first of a category outside the lesson that it is not sure about; the browser
test then checks that the browser path reproduces those answers. Screenshots go to
``test-artifacts/``. Servers run on 127.0.0.1 with a random port and token and throw-away
Jupyter dirs; every process they started is stopped by PID.

``test_stored_figures_render`` opens notebooks 01-05 with their stored outputs (nothing is run)
in JupyterLab, checks that every stored ``image/png`` output is on the page as a loaded image shown
at a readable width, and saves each as ``test-artifacts/figures/<notebook>-<n>.png``: look at them
before calling a figure done. ``test_readme_images`` checks the screenshots the README shows.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from doodlekit.apps import Answer, DoodlePad, scale_to_pad
from doodlekit.experiments import lessons

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "06_draw_and_search.ipynb"
#: The notebooks whose stored figures test_stored_figures_render looks at.
FIGURE_NOTEBOOKS = sorted((ROOT / "notebooks").glob("0[1-5]_*.ipynb"))
README = ROOT / "README.md"
#: A local image the README shows: Markdown ``![alt](path)`` or HTML ``<img src="path">``.
README_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)|<img[^>]*\ssrc=[\"']([^\"']+)")
#: Largest README image, in bytes.
README_IMAGE_BYTES = 200_000
#: A Voila URL path in the README's text or links (up to a space, quote, bracket or query).
VOILA_PATH = re.compile(r"voila/render/[^\s()\[\]`'\"?#]+")
SCREENSHOTS = ROOT / "test-artifacts"
FIGURES = SCREENSHOTS / "figures"
#: A figure counts as rendered when its image is wider than this (pixels of the PNG) ...
MIN_NATURAL_WIDTH = 100
#: ... and is shown at least this wide on the 1400 px wide page (not shrunk to a thumbnail).
MIN_SHOWN_WIDTH = 200
BIN = Path(sys.executable).parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Simplified records tried per category when choosing the drawing to replay.
CANDIDATES = 10
#: Categories the lesson model never saw, tried in order for the "not sure" drawing.
UNSEEN_CATEGORIES = ("house", "tree", "skull", "sea turtle")
#: Seconds to wait for a server to listen, for the notebook to show the pad, for an answer.
SERVER_TIMEOUT = 60
PAD_TIMEOUT = 90
ANSWER_TIMEOUT = 30

#: (ink, paper) pixel counts of a canvas: dark opaque pixels and white opaque pixels.
COUNT_PIXELS = """canvas => {
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let ink = 0, paper = 0;
    for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] > 200 && data[i] < 100) ink++;
        if (data[i + 3] > 200 && data[i] > 240) paper++;
    }
    return [ink, paper];
}"""


@dataclass(frozen=True)
class Lesson:
    """Prepared artefacts and the drawing to replay."""

    artifacts: Path
    category: str
    drawing: list
    unseen_category: str
    unseen_drawing: list


@pytest.fixture(scope="session")
def lesson(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config, mirror: Path
) -> Iterator[Lesson]:
    """Make the lesson's model and index in a temp artefacts dir; choose the drawing to replay.

    The files are also kept in pytest's cache and copied from there first, so later runs
    load instead of train (the files are named by a digest of their recipe and checked on load).
    """
    folder = tmp_path_factory.mktemp("artifacts")
    cache = getattr(pytestconfig, "cache", None)
    kept = cache.mkdir("doodlekit-lesson-artifacts") if cache is not None else None
    if kept is not None:
        shutil.copytree(kept, folder, dirs_exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(lessons.ENV_VAR, str(folder))
        search = lessons.doodle_search().know_limits(lessons.trained().dataset("val").images)  # as notebook 06
    if kept is not None:
        shutil.copytree(folder, kept, dirs_exist_ok=True)

    def first(categories: tuple[str, ...], wanted: Callable[[str, Answer], bool]) -> tuple[str, list]:
        for category in categories:
            for record in lessons.unseen_drawings(category, "simplified", CANDIDATES):
                pad = DoodlePad(search)
                answer = pad.draw(scale_to_pad(record["drawing"], pad.recorder.size))
                if answer is not None and wanted(category, answer):
                    return category, record["drawing"]
        pytest.fail(f"none of the first {CANDIDATES} unseen drawings of {categories} gets the answer wanted")

    category, drawing = first(lessons.LESSON.categories, lambda name, answer: answer.labels[0] == name)
    unseen_category, unseen_drawing = first(UNSEEN_CATEGORIES, lambda name, answer: answer.unsure)
    yield Lesson(folder, category, drawing, unseen_category, unseen_drawing)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _jupyter_env(scratch: Path, lesson: Lesson | None) -> dict[str, str]:
    """Environment with throw-away Jupyter dirs, the lesson artefacts (if any) and the venv first on PATH."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    if lesson is not None:
        env["DOODLEKIT_ARTIFACTS"] = str(lesson.artifacts)
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR",
                "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR"):
        folder = scratch / var.lower()
        folder.mkdir()
        env[var] = str(folder)
    labconfig = scratch / "jupyter_config_dir" / "labconfig"
    labconfig.mkdir()
    # No "get Jupyter news?" popup over the page.
    (labconfig / "page_config.json").write_text(
        '{"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": true}}'
    )
    return env


def _descendants(pid: int) -> list[int]:
    """PIDs of every live process below ``pid`` (kernels run in sessions of their own)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def _stop(proc: subprocess.Popen) -> None:
    """Stop a server and everything it started: SIGTERM, then SIGKILL its group and leftovers."""
    started = _descendants(proc.pid)
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    for pid in started:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@contextmanager
def _serve(command: list[str], env: dict[str, str], cwd: Path, probe: str, log: Path) -> Iterator[None]:
    """Run a server until it answers HTTP at ``probe``; stop it (by PID) on exit."""
    with log.open("w") as out:
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_TIMEOUT
        while True:
            try:
                urllib.request.urlopen(probe, timeout=5).close()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"{command[0]} did not start serving {probe}:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
        yield
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass(frozen=True)
class Server:
    """A running Jupyter server: base URL and token."""

    base: str
    token: str

    def url(self, path: str) -> str:
        return f"{self.base}/{path}?token={self.token}"

    def shut_down_kernels(self) -> None:
        """End every session, so that the next page starts a fresh kernel."""
        with urllib.request.urlopen(self.url("api/sessions"), timeout=10) as reply:
            sessions = json.load(reply)
        for session in sessions:
            request = urllib.request.Request(self.url(f"api/sessions/{session['id']}"), method="DELETE")
            urllib.request.urlopen(request, timeout=30).close()


def readme_voila_paths() -> list[str]:
    """Every distinct Voila URL path that README.md gives, e.g. ``voila/render/notebooks/06_...ipynb``."""
    return sorted(set(VOILA_PATH.findall(README.read_text(encoding="utf-8"))))


@contextmanager
def _jupyter_lab(scratch: Path, notebooks: list[Path], lesson: Lesson | None,
                 settings: dict[str, dict] | None = None) -> Iterator[Server]:
    """A JupyterLab (Notebook 7, Voila) server rooted, as ``make lab``'s and Binder's, at a throw-away
    folder laid out like the repository: each notebook copied to its repository path. ``settings``
    maps a plugin id (``"@jupyterlab/notebook-extension:tracker"``) to user settings for it."""
    root = scratch / "root"
    for notebook in notebooks:
        copy = root / notebook.relative_to(ROOT)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(notebook, copy)
    port, token = _free_port(), secrets.token_hex(16)
    command = [
        str(BIN / "jupyter"), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--ServerApp.allow_root=True", "--LabApp.news_url=None", "--LabApp.expose_app_in_browser=True",
        "--JupyterNotebookApp.expose_app_in_browser=True",
    ]
    server = Server(f"http://127.0.0.1:{port}", token)
    env = _jupyter_env(scratch, lesson)
    for plugin, values in (settings or {}).items():
        package, name = plugin.rsplit(":", 1)
        path = Path(env["JUPYTERLAB_SETTINGS_DIR"], package, f"{name}.jupyterlab-settings")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    with _serve(command, env, root, server.url("api/status"), scratch / "server.log"):
        yield server


@pytest.fixture(scope="module")
def lab_server(lesson: Lesson, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """JupyterLab serving the doodle-pad notebook, its kernels given the lesson's artefacts."""
    with _jupyter_lab(tmp_path_factory.mktemp("jupyter"), [NOTEBOOK], lesson) as server:
        yield server


@pytest.fixture(scope="module")
def figures_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """JupyterLab serving notebooks 01-05 as stored; no lesson artefacts (nothing is run). Notebooks
    are not windowed, so that every output is on the page, not only those scrolled to."""
    settings = {"@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"}}
    with _jupyter_lab(tmp_path_factory.mktemp("jupyter-figures"), FIGURE_NOTEBOOKS, None, settings) as server:
        yield server


def _draw(page: Page, drawing: list) -> None:
    """Replay strokes in the 0-255 box as mouse drags over the pad's on-screen box."""
    pad = page.locator("canvas.doodlekit-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None and abs(box["width"] - box["height"]) < 1, f"the pad is not a visible square: {box}"
    for xs, ys in scale_to_pad(drawing, box["width"]):
        points = [(box["x"] + x, box["y"] + y) for x, y in zip(xs, ys)]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=3)
        page.mouse.up()


@contextmanager
def _page(browser: Browser, name: str) -> Iterator[Page]:
    """A fresh page; on failure its full screenshot is saved as ``test-artifacts/<name>-failed.png``."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        yield page
    except BaseException:
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{name}-failed.png", full_page=True)
        raise
    finally:
        page.close()


def _check_pad(page: Page, lesson: Lesson, name: str) -> None:
    """Wait for a painted pad, draw the lesson's drawing, check ink and predictions, screenshot."""
    pad = page.locator("canvas.doodlekit-pad")
    pad.wait_for(timeout=PAD_TIMEOUT * 1000)
    assert pad.count() == 1, f"expected one doodle pad on the page, found {pad.count()}"
    # Paper appears only once the kernel has repainted the canvas for this page (on_client_ready).
    page.wait_for_function(
        f"canvas => ({COUNT_PIXELS})(canvas)[1] > canvas.width * canvas.height / 2",
        arg=pad.element_handle(), timeout=ANSWER_TIMEOUT * 1000,
    )
    ink_before, _ = pad.evaluate(COUNT_PIXELS)
    _draw(page, lesson.drawing)
    strokes = len(lesson.drawing)
    page.locator(f'.doodlekit-predictions .dk-answer[data-strokes="{strokes}"]').wait_for(
        timeout=ANSWER_TIMEOUT * 1000
    )
    labels = page.locator(".doodlekit-predictions [data-label]").evaluate_all(
        "rows => rows.map(row => row.dataset.label)"
    )
    ink_after, _ = pad.evaluate(COUNT_PIXELS)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png")
    width, height = pad.evaluate("canvas => [canvas.width, canvas.height]")
    assert ink_before == 0, f"the empty pad already holds {ink_before} ink pixels"
    assert ink_after > 0.01 * width * height, f"only {ink_after} ink pixels after drawing {strokes} strokes"
    assert len(labels) == 5, f"expected 5 predictions, got {labels}"
    assert lesson.category in labels, f"{lesson.category!r} is not among the top-5 predictions {labels}"
    _check_not_sure(page, lesson, name)


def _check_not_sure(page: Page, lesson: Lesson, name: str) -> None:
    """Clear the pad, draw the unseen category, check the "not sure" answer and the zero-shot guess, screenshot."""
    page.get_by_role("button", name="Clear").click()
    page.locator(".doodlekit-predictions", has_text="Draw a doodle").wait_for(timeout=ANSWER_TIMEOUT * 1000)
    _draw(page, lesson.unseen_drawing)
    strokes = len(lesson.unseen_drawing)
    answer = page.locator(f'.doodlekit-predictions .dk-answer[data-strokes="{strokes}"]')
    answer.wait_for(timeout=ANSWER_TIMEOUT * 1000)
    page.screenshot(path=SCREENSHOTS / f"{name}-not-sure.png")
    assert answer.get_attribute("data-unsure") == "true", (
        f"the pad is sure about a drawing of {lesson.unseen_category!r}, a category it never saw: {answer.inner_text()}"
    )
    assert "Not sure" in answer.inner_text()
    guesses = page.locator(".doodlekit-meanings .dk-zero-shot").all_inner_texts()
    assert len(guesses) == 5 and "Among all 345 names" in page.locator(".doodlekit-meanings").inner_text()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "path"),
    [("jupyterlab", "lab/tree/notebooks/06_draw_and_search.ipynb"),
     ("notebook7", "notebooks/notebooks/06_draw_and_search.ipynb")],
)
def test_pad_in_jupyter(browser: Browser, lab_server: Server, lesson: Lesson, name: str, path: str) -> None:
    # A page that joins a running kernel restores its widgets asynchronously; running cells before
    # that ends can break ipycanvas's shared canvas manager. Each test starts a fresh kernel instead.
    lab_server.shut_down_kernels()
    with _page(browser, name) as page:
        page.goto(lab_server.url(path))
        page.wait_for_function(
            "window.jupyterapp && window.jupyterapp.shell.currentWidget"
            " && window.jupyterapp.shell.currentWidget.sessionContext",
            timeout=SERVER_TIMEOUT * 1000,
        )
        page.evaluate(
            """async () => {
                const panel = window.jupyterapp.shell.currentWidget;
                await panel.context.ready;
                await panel.sessionContext.ready;
                await window.jupyterapp.commands.execute("notebook:run-all-cells");
            }"""
        )
        _check_pad(page, lesson, name)


def test_readme_gives_the_voila_path_of_the_pad() -> None:
    paths = readme_voila_paths()
    assert paths, "README.md gives no Voila URL path (voila/render/...); test_pad_in_voila checks the ones it gives"
    for path in paths:
        assert (ROOT / path.removeprefix("voila/render/")).is_file(), (
            f"README.md's Voila path {path!r} names no file of the repository "
            "(the root of Binder's server and of make lab's)"
        )


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("path", readme_voila_paths())
def test_pad_in_voila(browser: Browser, lab_server: Server, lesson: Lesson, path: str) -> None:
    """Voila as Binder and ``make lab`` serve it: the server extension, at the README's URL path."""
    lab_server.shut_down_kernels()
    with _page(browser, "voila") as page:
        page.goto(lab_server.url(path), timeout=PAD_TIMEOUT * 1000)
        _check_pad(page, lesson, "voila")


def stored_figure_count(notebook: Path) -> int:
    """How many ``image/png`` outputs (matplotlib figures) the notebook file stores."""
    cells = nbformat.read(notebook, as_version=4).cells
    return sum("image/png" in output.get("data", {})
               for cell in cells if cell.cell_type == "code" for output in cell.outputs)


#: Every figure of the open notebook: [naturalWidth, naturalHeight, shown width, shown height].
FIGURE_SIZES = """imgs => imgs.map(img => {
    const box = img.getBoundingClientRect();
    return [img.naturalWidth, img.naturalHeight, box.width, box.height];
})"""
#: The notebook panel under test, marked when it is JupyterLab's current widget (arg: the notebook's path).
MARK_PANEL = """path => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    if (!panel || !panel.context || panel.context.path !== path) return false;
    panel.node.dataset.figuresUnderTest = path;
    return true;
}"""
FIGURE_SELECTOR = "[data-figures-under-test] .jp-OutputArea .jp-RenderedImage img"


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("notebook", FIGURE_NOTEBOOKS, ids=lambda path: path.stem)
def test_stored_figures_render(browser: Browser, figures_server: Server, notebook: Path) -> None:
    """Every stored figure of the notebook shows in JupyterLab, loaded and readable; screenshot each."""
    expected = stored_figure_count(notebook)
    assert expected > 0, f"{notebook.name} stores no figure (image/png output): run it before this test"
    name = notebook.stem
    for old in FIGURES.glob(f"{name}-*.png"):
        old.unlink()
    FIGURES.mkdir(parents=True, exist_ok=True)
    with _page(browser, f"figures-{name}") as page:
        path = notebook.relative_to(ROOT).as_posix()
        # "reset": a fresh workspace, not one that reopens the notebooks earlier pages showed.
        page.goto(figures_server.url(f"lab/tree/{path}") + "&reset")
        page.wait_for_function(MARK_PANEL, arg=path, timeout=SERVER_TIMEOUT * 1000)
        figures = page.locator(FIGURE_SELECTOR)
        try:
            page.wait_for_function(
                """([selector, expected]) => {
                    const imgs = [...document.querySelectorAll(selector)];
                    return imgs.length >= expected && imgs.every(img => img.complete);
                }""",
                arg=[FIGURE_SELECTOR, expected], timeout=SERVER_TIMEOUT * 1000,
            )
        except Exception:  # noqa: BLE001 - report how many did render, not a bare timeout
            pytest.fail(f"{notebook.name}: {figures.count()} of its {expected} stored figures rendered "
                        f"within {SERVER_TIMEOUT} s")
        assert figures.count() == expected, (
            f"{notebook.name} stores {expected} image/png outputs but JupyterLab shows {figures.count()} figures"
        )
        for n in range(expected):
            figures.nth(n).screenshot(path=FIGURES / f"{name}-{n + 1}.png", animations="disabled")
        problems = [
            f"figure {n}: image {natural_w}x{natural_h} px shown at {shown_w:.0f}x{shown_h:.0f} px"
            for n, (natural_w, natural_h, shown_w, shown_h) in enumerate(figures.evaluate_all(FIGURE_SIZES), 1)
            if natural_w <= MIN_NATURAL_WIDTH or shown_w < MIN_SHOWN_WIDTH
        ]
        assert not problems, (f"{notebook.name}: figures not rendered at a readable size "
                              f"(need > {MIN_NATURAL_WIDTH} px wide images shown >= {MIN_SHOWN_WIDTH} px wide): "
                              + "; ".join(problems))


def readme_images() -> list[str]:
    """The local image paths that README.md shows (relative to the repository root)."""
    found = [m.group(1) or m.group(2) for m in README_IMAGE.finditer(README.read_text(encoding="utf-8"))]
    return [path for path in found if not re.match(r"[a-z]+:", path)]


def test_readme_images() -> None:
    """The screenshots in the README's "What it looks like" exist, as PNGs under 200 kB."""
    images = readme_images()
    assert any(path.startswith("docs/images/") for path in images), "README.md shows no image from docs/images/"
    for path in images:
        image = ROOT / path
        assert image.is_file(), f"README.md shows {path!r}, which is no file of the repository"
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"README.md's image {path} is not a PNG"
        size = image.stat().st_size
        assert size < README_IMAGE_BYTES, f"README.md's image {path} is {size} bytes (limit {README_IMAGE_BYTES})"
