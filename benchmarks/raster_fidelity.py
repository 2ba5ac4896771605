"""How faithful :mod:`doodlekit.data.raster` is to the dataset's own ``numpy_bitmap`` images.

1. Classifier check: a multinomial logistic regression on 2x2-pooled real bitmaps of the 41
   categories that have bitmaps (and simplified strokes) in the mirror, scored on held-out real
   bitmaps, on rasterized simplified strokes and on rasterized raw strokes of the same categories.
   Rasterized strokes should score within 10 points of the held-out bitmaps.
2. Pixel statistics (mean ink, nonzero and full-ink fractions, value histogram, bounding box) of
   real bitmaps against rasterized strokes. Bitmaps and strokes are different drawings, so these
   compare distributions.
3. Raw normalisation: the raw and simplified files hold the same drawings (same ``key_id``), so
   :func:`doodlekit.data.raster.normalize_raw` is compared with the dataset's own simplification.
4. Speed: milliseconds per :func:`doodlekit.data.raster.rasterize` call.

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
    DEFAULT_CATEGORIES,
    UNTUNED_CATEGORIES,
    load_bitmaps,
    load_drawings,
    normalize_raw,
    rasterize,
    rasterize_many,
    write_json_atomic,
)

RESULTS = Path(__file__).resolve().parent / "results" / "raster_fidelity.json"
#: The 41 categories with bitmaps in the offline mirror; all have simplified and raw strokes too.
CATEGORIES: tuple[str, ...] = tuple(sorted(DEFAULT_CATEGORIES + UNTUNED_CATEGORIES))
#: Largest accepted gap, in accuracy points, between rasterized strokes and held-out bitmaps.
MAX_GAP_POINTS = 10.0


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
    """(raw drawing, the dataset's simplified drawing) pairs of the drawings in both files."""
    simplified = {record["key_id"]: record["drawing"] for record in load_drawings(category, progress=False)}
    return [
        (record["drawing"], simplified[record["key_id"]])
        for record in load_drawings(category, fmt="raw", progress=False)
        if record["key_id"] in simplified
    ]


def raw_agreement(pairs: list[tuple[list, list]]) -> dict[str, float]:
    """How closely :func:`normalize_raw` reproduces the dataset's simplification of the same drawings.

    ``exact_strokes``: fraction of strokes identical to the dataset's; ``point_ratio``: our point
    count over the dataset's; ``mean_abs_pixel_diff``: mean |difference| (0-255) between the
    rasters of ours and of the dataset's simplified drawing.
    """
    exact = strokes = ours = theirs = 0
    differences = []
    for raw, simplified in pairs:
        normalized = normalize_raw(raw)
        strokes += len(simplified)
        exact += sum(a == b for a, b in zip(normalized, simplified))
        ours += sum(len(stroke[0]) for stroke in normalized)
        theirs += sum(len(stroke[0]) for stroke in simplified)
        ink = rasterize(normalized).astype(np.int16) - rasterize(simplified).astype(np.int16)
        differences.append(np.abs(ink).mean())
    return {
        "drawings": len(pairs),
        "exact_strokes": exact / strokes,
        "point_ratio": ours / theirs,
        "mean_abs_pixel_diff": float(np.mean(differences)),
    }


def milliseconds_per_drawing(drawings: list[list], fmt: str) -> float:
    """Median wall time of one :func:`rasterize` call, in ms."""
    times = []
    for drawing in drawings:
        start = time.perf_counter()
        rasterize(drawing, fmt=fmt)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def main() -> dict:
    """Measure everything; write and return the results."""
    data = load_data()
    scores = accuracies(data)
    gaps = {fmt: 100 * (scores[fmt] - scores["heldout"]) for fmt in ("simplified", "raw")}
    pairs = [pair for category in CATEGORIES for pair in matched_drawings(category)]
    result = {
        "what": "doodlekit.data.raster against the dataset's numpy_bitmap images (offline mirror)",
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
            "simplified": milliseconds_per_drawing([simplified for _, simplified in pairs], "simplified"),
            "raw": milliseconds_per_drawing([raw for raw, _ in pairs], "raw"),
        },
    }
    write_json_atomic(RESULTS, result)
    return result


if __name__ == "__main__":
    out = main()
    print(json.dumps({key: out[key] for key in ("accuracy", "gap_points_vs_heldout", "ms_per_drawing")}, indent=1))
    print(json.dumps(out["pixel_statistics"], indent=1))
    print(json.dumps(out["raw_normalisation_vs_dataset"]), "->", RESULTS)
