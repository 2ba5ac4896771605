"""What the benchmark scripts share: where results go, the machine record, target entries."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import numpy as np

from doodlekit.data import write_json_atomic

#: Folder of the JSON results (git-ignored: numbers belong to the machine that measured them).
RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """Where the numbers were measured (they depend on it)."""
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "platform": platform.platform(),
    }


def target(relation: str, bound: float, value: float) -> dict[str, Any]:
    """A target's JSON entry: the bound, the measured value and whether it was met."""
    met = {">=": value >= bound, "<=": value <= bound, "<": value < bound}[relation]
    return {"target": f"{relation} {bound}", "value": value, "met": bool(met)}


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON, atomically, and say where."""
    write_json_atomic(path, data)
    print(f"wrote {path}")
