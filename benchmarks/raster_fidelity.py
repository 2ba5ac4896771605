"""How faithful :mod:`doodlekit.data.raster` is to the dataset's own ``numpy_bitmap`` images.

1. Byte-exact rows: Google rendered each ``numpy_bitmap`` row from a drawing's simplified strokes,
   and for 1,129 simplified drawings of the mirror that row is in the same category's bitmap file.
   :func:`exact_rows` finds them without trusting the rasterizer under test (a drawing is paired
   with its nearest bitmap row when they differ by under :data:`SAME_DRAWING` grey levels on
   average, rendered with the numpy fallback) and counts how many each backend reproduces byte
   for byte. Target: at least 99% with cairo.
2. Classifier check: a multinomial logistic regression on 2x2-pooled real bitmaps of the 41
   categories that have bitmaps (and simplified strokes) in the mirror, scored on held-out real
   bitmaps, on rasterized simplified strokes and on rasterized raw strokes of the same categories.
   Rasterized strokes should score within 10 points of the held-out bitmaps.
3. Pixel statistics (mean ink, nonzero and full-ink fractions, value histogram, bounding box) of
   real bitmaps against rasterized strokes. Bitmaps and strokes are different drawings, so these
   compare distributions.
4. Raw normalisation: the raw and simplified files hold the same drawings (same ``key_id``; 7,948 in
   the mirror, over all 345 categories), so :func:`doodlekit.data.raster.normalize_raw` is compared
   with the dataset's own simplification, drawing by drawing and stroke by stroke.
5. Speed: milliseconds per :func:`doodlekit.data.raster.rasterize` call.

Run: ``python benchmarks/raster_fidelity.py`` (data from ``DOODLEKIT_DATA``); writes
``benchmarks/results/raster_fidelity.json``. ``tests/test_raster.py`` reuses the functions here.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from doodlekit.data import (
    CATEGORIES as ALL_CATEGORIES,
    DEFAULT_CATEGORIES,
    UNTUNED_CATEGORIES,
    available_backends,
    load_bitmaps,
    load_drawings,
    normalize_raw,
    rasterize,
    rasterize_many,
    write_json_atomic,
)
from doodlekit.errors import DataNotFoundError, DownloadError

RESULTS = Path(__file__).resolve().parent / "results" / "raster_fidelity.json"
#: The 41 categories with bitmaps in the offline mirror; all have simplified and raw strokes too.
CATEGORIES: tuple[str, ...] = tuple(sorted(DEFAULT_CATEGORIES + UNTUNED_CATEGORIES))
#: Largest accepted gap, in accuracy points, between rasterized strokes and held-out bitmaps.
MAX_GAP_POINTS = 10.0
#: Simplified drawings of the mirror whose exact numpy_bitmap row is in the mirror (shared/README.md).
MIRROR_EXACT_PAIRS = 1129
#: Least fraction of those rows that :func:`~doodlekit.data.rasterize` with cairo must reproduce byte for byte.
TARGET_EXACT_RATE = 0.99
#: A drawing and a bitmap row within this mean absolute difference (grey levels) are the same drawing: a
#: drawing and its own row differ by 0.34 on average (at most about 1) in the numpy fallback, the two closest
#: other drawings in the mirror by about 9.
SAME_DRAWING = 2.0


@dataclass(frozen=True)
class FidelityData:
    """Images (N, 28, 28) uint8 and labels (N,) int64 (index into ``categories``) of each set."""

    categories: tuple[str, ...]
    train: np.ndarray
    train_labels: np.ndarray
    heldout: np.ndarray
    heldout_labels: np.ndarray
    simplified: np.ndarray
    simplified_labels: np.ndarray
    raw: np.ndarray
    raw_labels: np.ndarray


def load_data(
    categories: tuple[str, ...] = CATEGORIES, train_per_class: int = 400, heldout_per_class: int = 100,
    strokes_per_class: int = 25,
) -> FidelityData:
    """Real bitmaps (first rows to train, the next ones held out) and rasterized strokes per category."""
    sets: dict[str, list[np.ndarray]] = {name: [] for name in ("train", "heldout", "simplified", "raw")}
    labels: dict[str, list[np.ndarray]] = {name: [] for name in sets}

    def add(name: str, images: np.ndarray, label: int) -> None:
        sets[name].append(images)
        labels[name].append(np.full(len(images), label, dtype=np.int64))

    for label, category in enumerate(categories):
        bitmaps = load_bitmaps(category, train_per_class + heldout_per_class, progress=False).reshape(-1, 28, 28)
        add("train", bitmaps[:train_per_class], label)
        add("heldout", bitmaps[train_per_class:], label)
        for fmt in ("simplified", "raw"):
            records = load_drawings(category, strokes_per_class, fmt=fmt, progress=False)
            add(fmt, rasterize_many([record["drawing"] for record in records], fmt), label)
    joined = {name: np.concatenate(parts) for name, parts in sets.items()}
    return FidelityData(categories, **joined, **{f"{name}_labels": np.concatenate(labels[name]) for name in sets})


def _features(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 196) float64 in [0, 1]: mean over 2x2 blocks."""
    pooled = images.reshape(len(images), 14, 2, 14, 2).mean(axis=(2, 4), dtype=np.float64) / 255
    return pooled.reshape(len(images), -1)


def accuracies(data: FidelityData) -> dict[str, float]:
    """Accuracy (0-1) of a logistic regression fitted on ``data.train`` on each other set.

    Deterministic (lbfgs, no randomness): same data, same numbers.
    """
    model = LogisticRegression(C=0.1, max_iter=300).fit(_features(data.train), data.train_labels)
    return {
        name: float(model.score(_features(getattr(data, name)), getattr(data, f"{name}_labels")))
        for name in ("heldout", "simplified", "raw")
    }


def _first_last(hits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last True index in each row of (N, L) bool (rows hold at least one True)."""
    return hits.argmax(axis=1), hits.shape[1] - 1 - hits[:, ::-1].argmax(axis=1)


def pixel_statistics(images: np.ndarray) -> dict[str, float | list[float]]:
    """Summary of (N, H, W) uint8 bitmaps.

    ``mean_ink``: mean value / 255; ``nonzero`` / ``full``: fraction of pixels > 0 / == 255;
    ``histogram``: fraction of the nonzero pixels in 1-63, 64-127, 128-191, 192-254 and 255 (the
    blur profile); ``top`` / ``bottom`` / ``left`` / ``right``: mean first and last inked row and
    column; ``centre_row`` / ``centre_col``: mean centre of the inked bounding box (pixels).
    """
    inked = images > 0
    some = inked.any(axis=(1, 2))
    top, bottom = _first_last(inked.any(axis=2)[some])
    left, right = _first_last(inked.any(axis=1)[some])
    values = images[inked]
    histogram = np.histogram(values, bins=[1, 64, 128, 192, 255, 256])[0] / max(values.size, 1)
    return {
        "mean_ink": float(images.mean() / 255),
        "nonzero": float(inked.mean()),
        "full": float((images == 255).mean()),
        "histogram": [round(float(share), 4) for share in histogram],
        "top": float(top.mean()),
        "bottom": float(bottom.mean()),
        "left": float(left.mean()),
        "right": float(right.mean()),
        "centre_row": float((top + bottom).mean() / 2),
        "centre_col": float((left + right).mean() / 2),
    }


def matched_drawings(category: str) -> list[tuple[list, list]]:
    """(raw drawing, the dataset's simplified drawing) pairs of the drawings in both files (none without both)."""
    try:
        simplified = {record["key_id"]: record["drawing"] for record in load_drawings(category, progress=False)}
    except (DataNotFoundError, DownloadError):  # the offline mirror has no simplified zigzag
        return []
    return [
        (record["drawing"], simplified[record["key_id"]])
        for record in load_drawings(category, fmt="raw", progress=False)
        if record["key_id"] in simplified
    ]


def exact_rows(categories: tuple[str, ...] = CATEGORIES) -> dict:
    """How many drawings whose own bitmap row is in the mirror each backend reproduces byte for byte.

    A simplified drawing is paired with its nearest bitmap row of the same category (Euclidean,
    over all rows of the file) when their mean absolute difference, rendered by the numpy
    fallback, is under :data:`SAME_DRAWING`.

    Returns:
        ``pairs`` and ``categories`` (how many have pairs), and per available backend
        ``identical`` (count), ``rate`` (identical / pairs) and ``mean_abs_diff`` (grey levels).
    """
    found = {backend: {"identical": 0, "diffs": []} for backend in available_backends()}
    pairs = paired_categories = 0
    for category in categories:
        rows = load_bitmaps(category, progress=False).astype(np.float32)
        drawings = [record["drawing"] for record in load_drawings(category, progress=False)]
        approximate = rasterize_many(drawings, backend="numpy").reshape(len(drawings), -1).astype(np.float32)
        squared = (approximate**2).sum(1)[:, None] - 2 * approximate @ rows.T + (rows**2).sum(1)[None]
        nearest = np.argmin(squared, axis=1)
        same = np.abs(approximate - rows[nearest]).mean(axis=1) < SAME_DRAWING
        pairs += int(same.sum())
        paired_categories += bool(same.any())
        for index in np.flatnonzero(same):
            target = rows[nearest[index]].astype(np.uint8)
            for backend, counts in found.items():
                image = rasterize(drawings[index], backend=backend).reshape(-1)
                counts["identical"] += bool(np.array_equal(image, target))
                counts["diffs"].append(float(np.abs(image.astype(np.int16) - target).mean()))
    return {
        "pairs": pairs,
        "categories": paired_categories,
        **{
            backend: {
                "identical": counts["identical"],
                "rate": counts["identical"] / max(pairs, 1),
                "mean_abs_diff": float(np.mean(counts["diffs"])) if counts["diffs"] else 0.0,
            }
            for backend, counts in found.items()
        },
    }


def raw_agreement(pairs: list[tuple[list, list]]) -> dict[str, float]:
    """How closely :func:`normalize_raw` reproduces the dataset's simplification of the same drawings.

    ``exact_drawings`` / ``exact_strokes``: fraction of drawings / strokes identical to the
    dataset's; ``same_point_count``: fraction of the differing strokes with as many points as the
    dataset's (the rest differ by a point or more); ``point_ratio``: our point count over the
    dataset's; ``mean_abs_pixel_diff``: mean |difference| (0-255) between the rasters of ours and of
    the dataset's simplified drawing.
    """
    exact = drawings_exact = strokes = ours = theirs = differing = same_count = 0
    differences = []
    for raw, simplified in pairs:
        normalized = normalize_raw(raw)
        drawings_exact += normalized == simplified
        strokes += len(simplified)
        for a, b in zip(normalized, simplified):
            exact += a == b
            differing += a != b
            same_count += a != b and len(a[0]) == len(b[0])
        ours += sum(len(stroke[0]) for stroke in normalized)
        theirs += sum(len(stroke[0]) for stroke in simplified)
        ink = rasterize(normalized).astype(np.int16) - rasterize(simplified).astype(np.int16)
        differences.append(np.abs(ink).mean())
    return {
        "drawings": len(pairs),
        "exact_drawings": drawings_exact / len(pairs),
        "exact_strokes": exact / strokes,
        "same_point_count": same_count / max(differing, 1),
        "point_ratio": ours / theirs,
        "mean_abs_pixel_diff": float(np.mean(differences)),
    }


def milliseconds_per_drawing(drawings: list[list], fmt: str, backend: str | None = None) -> float:
    """Median wall time of one :func:`rasterize` call, in ms."""
    times = []
    for drawing in drawings:
        start = time.perf_counter()
        rasterize(drawing, fmt=fmt, backend=backend)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def main() -> dict:
    """Measure everything; write and return the results."""
    data = load_data()
    scores = accuracies(data)
    gaps = {fmt: 100 * (scores[fmt] - scores["heldout"]) for fmt in ("simplified", "raw")}
    pairs = [pair for category in ALL_CATEGORIES for pair in matched_drawings(category)]
    exact = exact_rows()
    result = {
        "what": "doodlekit.data.raster against the dataset's numpy_bitmap images (offline mirror)",
        "backends_available": list(available_backends()),
        "exact_rows": exact,
        "target_exact_rate": TARGET_EXACT_RATE,
        "meets_exact_target": bool(exact.get("cairo", {}).get("rate", 0.0) >= TARGET_EXACT_RATE),
        "categories": len(CATEGORIES),
        "classifier": "LogisticRegression(C=0.1) on 2x2-pooled real bitmaps",
        "images": {name: int(len(getattr(data, name))) for name in ("train", "heldout", "simplified", "raw")},
        "accuracy": scores,
        "gap_points_vs_heldout": gaps,
        "target_max_gap_points": MAX_GAP_POINTS,
        "pixel_statistics": {
            "real_bitmaps": pixel_statistics(np.concatenate([data.train, data.heldout])),
            "rasterized_simplified": pixel_statistics(data.simplified),
            "rasterized_raw": pixel_statistics(data.raw),
        },
        "raw_normalisation_vs_dataset": raw_agreement(pairs),
        "ms_per_drawing": {
            f"{fmt} ({backend})": milliseconds_per_drawing(
                [simplified if fmt == "simplified" else raw for raw, simplified in pairs[:500]], fmt, backend
            )
            for fmt in ("simplified", "raw")
            for backend in available_backends()
        },
    }
    write_json_atomic(RESULTS, result)
    return result


if __name__ == "__main__":
    out = main()
    shown = ("exact_rows", "accuracy", "gap_points_vs_heldout", "ms_per_drawing")
    print(json.dumps({key: out[key] for key in shown}, indent=1))
    print(json.dumps(out["pixel_statistics"], indent=1))
    print(json.dumps(out["raw_normalisation_vs_dataset"]), "->", RESULTS)
