"""The kit's environments agree with its one dependency list, pyproject.toml.

environment.yml (conda-forge) must name the same packages with the same version ranges;
users get ranges, never pins. Also checked here: the notebook kernel is this environment's
Python, and the nbval sanitizer masks run-to-run noise but not results.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import yaml
from jupyter_client.manager import KernelManager
from nbval.plugin import get_sanitize_patterns
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

#: conda-forge names that differ from the PyPI names of the same packages.
CONDA_TO_PYPI = {"pytorch": "torch", "playwright-python": "playwright"}
#: conda-forge system libraries that a Python package of the list loads (pip cannot install them).
CONDA_SYSTEM_LIBRARIES = {"cairo"}


def pyproject_requirements() -> dict[str, SpecifierSet]:
    """Every requirement of the kit, dependencies and all extras, by canonical PyPI name."""
    lines = PROJECT["dependencies"] + [r for extra in PROJECT["optional-dependencies"].values() for r in extra]
    reqs = [Requirement(line) for line in lines]
    return {canonicalize_name(r.name): r.specifier for r in reqs if canonicalize_name(r.name) != "doodlekit"}


def environment_yml() -> tuple[dict[str, SpecifierSet], list[str]]:
    """environment.yml as (requirements by canonical PyPI name, its pip-section lines)."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [item for item in env["dependencies"] if isinstance(item, str)]
    pip = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    reqs: dict[str, SpecifierSet] = {}
    for spec in conda:
        name, version = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(.*)", spec).groups()
        if name in CONDA_SYSTEM_LIBRARIES:
            continue
        reqs[canonicalize_name(CONDA_TO_PYPI.get(name, name))] = SpecifierSet(version)
    for line in pip:
        if not line.startswith("-"):
            req = Requirement(line)
            reqs[canonicalize_name(req.name)] = req.specifier
    return reqs, pip


def test_environment_yml_lists_the_pyproject_packages() -> None:
    expected = set(pyproject_requirements()) | {"python", "pip"}
    listed = set(environment_yml()[0])
    assert listed == expected, (
        "environment.yml and pyproject.toml list different packages; edit environment.yml. "
        f"Missing there: {sorted(expected - listed)}; not in pyproject.toml: {sorted(listed - expected)} "
        f"(conda-forge names are mapped to PyPI names by {CONDA_TO_PYPI})"
    )


def test_environment_yml_ranges_match_pyproject() -> None:
    listed = environment_yml()[0]
    differ = {
        name: (str(spec), str(listed[name]))
        for name, spec in pyproject_requirements().items()
        if name in listed and listed[name] != spec
    }
    assert not differ, f"version ranges differ, as {{package: (pyproject.toml, environment.yml)}}: {differ}"


def test_environment_yml_python_and_kit() -> None:
    listed, pip = environment_yml()
    assert listed["python"] == SpecifierSet(PROJECT["requires-python"]), (
        f"environment.yml asks for python{listed['python']}, pyproject.toml for {PROJECT['requires-python']}"
    )
    assert "-e ." in pip, "environment.yml's pip section must install the kit itself ('-e .')"


def test_users_get_ranges_not_pins() -> None:
    for name, spec in pyproject_requirements().items():
        operators = {s.operator for s in spec}
        assert ">=" in operators, f"{name}{spec}: give a lower bound (>=) so users get a tested minimum"
        assert not operators & {"==", "==="}, f"{name}{spec}: users get ranges, not pins"


def test_python3_kernel_is_this_environment() -> None:
    """`make lab` and nbval run notebooks in the kernel named python3: it must be this venv's Python."""
    cmd = KernelManager(kernel_name="python3").format_kernel_cmd()
    assert cmd[0] == sys.executable, (
        f"the python3 kernel starts {cmd[0]}, not this environment's {sys.executable}; "
        "remove the other kernelspec (jupyter kernelspec list) or reinstall ipykernel here"
    )


def test_sanitizer_masks_noise_and_keeps_results() -> None:
    patterns = get_sanitize_patterns((ROOT / "notebooks" / "nbval_sanitize.cfg").read_text())

    def sanitize(text: str) -> str:  # as nbval does
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    masked = {
        "100%|##########| 24/24 [00:03<00:00,  7.12it/s]": "100%|##########| 24/24 [ELAPSED<REMAINING,  RATE]",
        "  0%|          | 0/5 [00:00<?, ?it/s]": "  0%|          | 0/5 [ELAPSED<REMAINING, RATE]",
        "epoch 2: 1.84s/it, 3.2MB/s": "epoch 2: RATE, RATE",
        "trained in 12.5 s (41 ms per batch)": "trained in DURATION (DURATION per batch)",
        "Wall time: 2.31 s": "TIME-MAGIC",
        "<doodlekit.retrieval.index.HammingIndex object at 0x7f3a2c1b9d50>": "<doodlekit.retrieval.index.HammingIndex object at 0xADDRESS>",
        "saved /tmp/tmpab12cd/model.pt": "saved TEMP-PATH",
        "/srv/x/.venv/lib/python3.11/site-packages/torch/nn/functional.py:12: UserWarning": (
            "SITE-PACKAGES/torch/nn/functional.py:12: UserWarning"
        ),
        "run at 2026-11-29 15:02:39": "run at TIMESTAMP",
    }
    kept = [
        "test accuracy 0.912 on 24 classes, 2000 samples each",
        "mAP@100 = 0.4301 with 32-bit codes",
        "images (48000, 28, 28) uint8, embedding dim 50",
    ]
    assert {text: sanitize(text) for text in masked} == masked
    assert [sanitize(text) for text in kept] == kept
