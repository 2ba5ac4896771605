"""Static checks of the committed notebooks, so that a stale or half-run notebook fails CI.

nbval (``make test``) re-runs every notebook and compares its printed output with the stored
one; these checks make sure there *is* a stored run to compare with, made top to bottom in one
kernel, and that each notebook is shaped as a lesson (a goal first, exercises with folded
solutions) and reads data only through the kit's data layer.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
#: Committed notebooks stay small: figures at low dpi, no data dumps.
MAX_BYTES = 1_000_000
#: Paths that would tie a notebook to this machine or to the offline data folder.
FORBIDDEN_PATH = re.compile(r"\.\./shared|/work/shared|\bshared/(?:quickdraw|wordvectors)\b|/work/main\b")


def test_the_lessons_are_all_there() -> None:
    names = [path.name for path in NOTEBOOKS]
    for prefix in ("01_", "02_", "03_", "04_", "05_", "06_", "07_"):
        assert any(name.startswith(prefix) for name in names), f"no notebook {prefix}* in {NOTEBOOKS_DIR}: {names}"


@pytest.fixture(params=NOTEBOOKS, ids=lambda path: path.name)
def notebook(request: pytest.FixtureRequest) -> tuple[Path, nbformat.NotebookNode]:
    path = request.param
    return path, nbformat.read(path, as_version=4)


def _code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def test_executed_top_to_bottom_with_outputs(notebook: tuple[Path, nbformat.NotebookNode]) -> None:
    path, nb = notebook
    cells = _code_cells(nb)
    assert cells, f"{path.name} has no code cells"
    counts = [cell.execution_count for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        f"{path.name} was not executed top to bottom in one fresh kernel: execution counts {counts}. "
        "Re-run it with `jupyter nbconvert --to notebook --execute --inplace` (see CONTRIBUTING.md)."
    )
    assert any(cell.outputs for cell in cells), f"{path.name} has no stored outputs; commit it executed"
    errors = [i for i, cell in enumerate(cells, 1) for out in cell.outputs if out.output_type == "error"]
    assert not errors, f"{path.name}: code cells {errors} stored an error"


def test_starts_with_a_goal(notebook: tuple[Path, nbformat.NotebookNode]) -> None:
    path, nb = notebook
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.lstrip().startswith("# "), (
        f"{path.name} must open with a markdown cell whose first line is the lesson's '# title'"
    )
    assert re.search(r"what you will learn", first.source, re.IGNORECASE), (
        f"{path.name}: its first cell must say what the learner will learn ('What you will learn')"
    )


def test_has_an_exercise_with_a_folded_solution(notebook: tuple[Path, nbformat.NotebookNode]) -> None:
    path, nb = notebook
    markdown = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert re.search(r"^#+\s*Exercises?\b", markdown, re.MULTILINE | re.IGNORECASE), (
        f"{path.name} has no '## Exercise' section"
    )
    assert re.search(r"<details>\s*<summary>\s*Solution", markdown, re.IGNORECASE), (
        f"{path.name}: exercises need solutions folded away in <details><summary>Solution</summary>...</details>"
    )


def test_names_no_local_data_path(notebook: tuple[Path, nbformat.NotebookNode]) -> None:
    path, nb = notebook
    for i, cell in enumerate(nb.cells):
        texts = [cell.source]
        for out in cell.get("outputs", []):
            texts.append(out.get("text", ""))
            texts.extend(str(value) for key, value in out.get("data", {}).items() if key.startswith("text/"))
        found = [match.group(0) for text in texts for match in FORBIDDEN_PATH.finditer(text)]
        assert not found, (
            f"{path.name} cell {i} names {found[0]!r}: notebooks read data through the data layer "
            "(DOODLEKIT_DATA, DOODLEKIT_VECTORS and 'local:' specs), never a path to the offline folder"
        )


def test_stays_small(notebook: tuple[Path, nbformat.NotebookNode]) -> None:
    path, _ = notebook
    size = path.stat().st_size
    assert size <= MAX_BYTES, f"{path.name} is {size:,} bytes (> {MAX_BYTES:,}): lower figure dpi or sizes"


#: nbval acts on a marker only when the comment line is exactly the marker.
NBVAL_MARKER = re.compile(r"^\s*#\s*(NBVAL_\w+|PYTEST_VALIDATE_\w+)(.*)$", re.MULTILINE)


def test_every_masked_output_says_why(notebook: tuple[Path, nbformat.NotebookNode]) -> None:
    path, nb = notebook
    for i, cell in enumerate(_code_cells(nb), 1):
        lines = cell.source.splitlines()
        for match in NBVAL_MARKER.finditer(cell.source):
            assert not match.group(2).strip(), (
                f"{path.name} code cell {i}: {match.group(0).strip()!r} is not an nbval marker (nbval reads a comment "
                f"that is exactly '# {match.group(1)}'); put the reason on the next comment line"
            )
            at = next(n for n, line in enumerate(lines) if line.strip() == match.group(0).strip())
            reason = lines[at + 1].strip() if at + 1 < len(lines) else ""
            assert reason.startswith("# Not compared:") and len(reason) > 30, (
                f"{path.name} code cell {i}: the line after {match.group(1)} must say why, as '# Not compared: ...'"
            )
