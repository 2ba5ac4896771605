"""The package's shape: imports run one way along the pipeline, and serving code loads no training code."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "doodlekit"
#: Each part of the kit may import only from parts at its level or below.
LAYERS = {
    "errors": 0, "_exports": 0, "defaults": 0, "reference": 0,
    "data": 1, "semantics": 2, "model": 3, "retrieval": 4, "plotting": 4,
    "apps": 5, "experiments": 6, "cli": 7, "__main__": 7,
}


def _part(module: str) -> str:
    """``doodlekit.retrieval.hashers`` -> ``retrieval``; ``doodlekit`` -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(relative.parts).removesuffix(".__init__")
        found[name] = path
    return found


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("doodlekit"):
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith("doodlekit"))
    return names


def test_every_part_has_a_layer() -> None:
    parts = {_part(name) for name in _modules()} - {""}
    assert parts <= set(LAYERS), f"parts without a layer in LAYERS: {sorted(parts - set(LAYERS))}"


@pytest.mark.parametrize("module", sorted(name for name in _modules() if _part(name)))
def test_imports_run_one_way_along_the_pipeline(module: str) -> None:
    level = LAYERS[_part(module)]
    upward = sorted(
        imported for imported in _imports(_modules()[module])
        if _part(imported) and LAYERS[_part(imported)] > level
    )
    assert not upward, (
        f"{module} (layer {_part(module)}) imports {upward}, later in the pipeline "
        "(data -> semantics -> model -> retrieval/plotting -> apps -> experiments -> cli); move the shared piece down"
    )


def _loaded_by(statement: str, prefixes: tuple[str, ...]) -> set[str]:
    """The modules whose names start with one of ``prefixes`` that a fresh Python has loaded after ``statement``."""
    script = (
        f"import json, sys\n{statement}\n"
        f"print(json.dumps(sorted(name for name in sys.modules if name.startswith({prefixes!r}))))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(run.stdout))


def test_the_doodle_pad_loads_no_training_code() -> None:
    loaded = _loaded_by("import doodlekit.apps.pad", ("doodlekit", "torchvision"))
    forbidden = {
        "doodlekit.model.training", "doodlekit.data.datasets", "doodlekit.data.quickdraw", "doodlekit.data.http",
        "torchvision",
    }
    assert "doodlekit.apps.search" in loaded and "doodlekit.model.inference" in loaded
    assert not loaded & forbidden, f"importing the pad loaded {sorted(loaded & forbidden)}"
    assert not {name for name in loaded if name.startswith("doodlekit.experiments")}, loaded


def test_subpackages_export_their_modules_names_lazily() -> None:
    loaded = _loaded_by("from doodlekit.retrieval import ITQ", ("doodlekit.retrieval.",))
    assert "doodlekit.retrieval.hashers" in loaded
    assert "doodlekit.retrieval.zeroshot" not in loaded and "doodlekit.retrieval.evaluation" not in loaded
    import doodlekit.retrieval

    with pytest.raises(AttributeError, match="has no attribute 'NoSuchThing'"):
        doodlekit.retrieval.NoSuchThing  # noqa: B018


@pytest.mark.parametrize("package", sorted(part for part, level in LAYERS.items()
                                           if (PACKAGE / part / "__init__.py").is_file() and part != "reference"))
def test_each_subpackage_exports_exactly_its_modules_public_names(package: str) -> None:
    """The lazy export table of ``doodlekit.<package>`` lists every public top-level name of its modules."""
    import importlib

    defined = {}
    for path in sorted((PACKAGE / package).glob("*.py")):
        if path.name == "__init__.py":
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [n.id for target in node.targets for n in ast.walk(target) if isinstance(n, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names = [node.target.id]
            else:
                names = []
            defined.update({name: path.stem for name in names if not name.startswith("_")})
    exported = importlib.import_module(f"doodlekit.{package}").__all__
    assert sorted(exported) == sorted(defined), (
        f"doodlekit.{package}'s export table in __init__.py is out of date: missing "
        f"{sorted(set(defined) - set(exported))}, stale {sorted(set(exported) - set(defined))}"
    )
