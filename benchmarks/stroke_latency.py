"""Kernel-side work per stroke of the doodle pad, over real Quick, Draw! drawings.

Replays the first simplified drawings of every lesson category on a 280-pixel
:class:`~doodlekit.apps.pad.DoodlePad` through its event handlers (``mouse_down``,
``mouse_move`` per point, ``mouse_up``), as the canvas's events call them in the kernel, and
times each call. A stroke's work is the sum of its calls; ``mouse_up`` holds the answer
(rasterize, model, hash, Hamming search, nearest labels, HTML and PNGs). Also times the
worst input the pad accepts: a stroke of the maximum number of random points.
Target: p95 per stroke <= 100 ms. Writes benchmarks/results/stroke_latency.json.

Run: ``python benchmarks/stroke_latency.py [--drawings N]`` with ``DOODLEKIT_DATA`` set; the
lesson's model and index come from ``DOODLEKIT_ARTIFACTS`` (default ``notebooks/artifacts``),
made there first if missing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from doodlekit.apps import MAX_POINTS_PER_STROKE, DoodlePad, scale_to_pad
from doodlekit.data import load_drawings, write_json_atomic
from doodlekit.experiments import lessons

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "stroke_latency.json"
TARGET_P95_MS = 100.0
SIZE = 280


def _ms(call: Callable[..., None], *args: float) -> float:
    started = time.perf_counter()
    call(*args)
    return 1000 * (time.perf_counter() - started)


def _stroke(pad: DoodlePad, xs: list[float], ys: list[float]) -> tuple[float, float, list[float]]:
    """Replay one stroke; returns (total ms, mouse_up ms, per-move ms)."""
    down = _ms(pad.mouse_down, xs[0], ys[0])
    moves = [_ms(pad.mouse_move, x, y) for x, y in zip(xs[1:], ys[1:])]
    up = _ms(pad.mouse_up, xs[-1], ys[-1])
    return down + sum(moves) + up, up, moves


def _summary(values: list[float]) -> dict[str, float]:
    array = np.asarray(values)
    return {
        "n": int(array.size),
        "mean": round(float(array.mean()), 3),
        "p50": round(float(np.percentile(array, 50)), 3),
        "p95": round(float(np.percentile(array, 95)), 3),
        "max": round(float(array.max()), 3),
    }


def main(drawings_per_category: int) -> dict[str, Any]:
    """Run the benchmark; write and return the results."""
    os.environ.setdefault(lessons.ENV_VAR, str(ROOT / "notebooks" / "artifacts"))
    search = lessons.doodle_search()
    totals, answers, moves = [], [], []
    drawings = 0
    for category in lessons.LESSON.categories:
        for record in load_drawings(category, drawings_per_category, progress=False):
            pad = DoodlePad(search, size=SIZE)
            for xs, ys in scale_to_pad(record["drawing"], SIZE):
                total, up, move = _stroke(pad, xs, ys)
                totals.append(total)
                answers.append(up)
                moves += move
            drawings += 1
    rng = np.random.default_rng(0)
    absurd = []
    for _ in range(5):
        points = rng.uniform(-SIZE, 2 * SIZE, size=(MAX_POINTS_PER_STROKE, 2))
        absurd.append(_stroke(DoodlePad(search, size=SIZE), list(points[:, 0]), list(points[:, 1]))[0])
    result = {
        "what": "kernel-side ms per stroke of DoodlePad (handlers timed as the canvas events call them)",
        "target_p95_ms": TARGET_P95_MS,
        "drawings": drawings,
        "per_stroke_ms": _summary(totals),
        "answer_ms": _summary(answers),
        "move_event_ms": _summary(moves),
        "absurd_stroke_ms": _summary(absurd),
        "meets_target": bool(np.percentile(totals, 95) <= TARGET_P95_MS),
        "search": repr(search),
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "cpus": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
        },
    }
    write_json_atomic(RESULTS, result)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drawings", type=int, default=20, help="simplified drawings per lesson category")
    out = main(parser.parse_args().drawings)
    print(json.dumps({key: out[key] for key in ("per_stroke_ms", "answer_ms", "absurd_stroke_ms", "meets_target")}),
          "->", RESULTS)
