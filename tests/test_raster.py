"""doodlekit.data.raster: strokes -> numpy_bitmap-style images, and raw -> simplified normalisation."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from doodlekit.data import load_drawings, normalize_raw, raster, rasterize, rasterize_many

_SPEC = importlib.util.spec_from_file_location(
    "raster_fidelity", Path(__file__).resolve().parents[1] / "benchmarks" / "raster_fidelity.py"
)
fidelity = sys.modules[_SPEC.name] = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(fidelity)

SAMPLE_CATEGORIES = ("cat", "house", "star", "bicycle", "The Mona Lisa")


@pytest.fixture(scope="module")
def simplified(mirror: Path) -> list[list]:
    """Real simplified drawings (0-255 box) of a few categories."""
    return [r["drawing"] for c in SAMPLE_CATEGORIES for r in load_drawings(c, 10, progress=False)]


@pytest.fixture(scope="module")
def raw(mirror: Path) -> list[list]:
    """Real raw drawings ([xs, ys, t_ms] per stroke, canvas pixels) of a few categories."""
    return [r["drawing"] for c in SAMPLE_CATEGORIES for r in load_drawings(c, 10, fmt="raw", progress=False)]


@pytest.fixture(scope="module")
def fidelity_data(mirror: Path) -> fidelity.FidelityData:
    """Real bitmaps of the 41 mirror categories and rasterized strokes of the same categories."""
    return fidelity.load_data()


def _transform(drawing: list, fx: Callable[[float], float], fy: Callable[[float], float]) -> list:
    """The drawing with fx applied to every x and fy to every y (time rows dropped)."""
    return [[[fx(x) for x in stroke[0]], [fy(y) for y in stroke[1]]] for stroke in drawing]


def _ink_box(image: np.ndarray) -> tuple[int, int, int, int]:
    """First and last inked row, first and last inked column."""
    rows, cols = np.nonzero(image.any(axis=1))[0], np.nonzero(image.any(axis=0))[0]
    return rows[0], rows[-1], cols[0], cols[-1]


def test_output_is_size_by_size_uint8_ink_on_paper(simplified: list) -> None:
    image = rasterize(simplified[0])
    assert image.shape == (28, 28) and image.dtype == np.uint8
    assert image.max() == 255 and image.min() == 0
    assert image[0].max() == image[-1].max() == image[:, 0].max() == image[:, -1].max() == 0
    assert rasterize(simplified[0], size=64).shape == (64, 64)


def test_rasterize_many_stacks_rasterize(simplified: list, raw: list) -> None:
    for fmt, drawings in (("simplified", simplified[:5]), ("raw", raw[:5])):
        stack = rasterize_many(drawings, fmt)
        assert stack.shape == (5, 28, 28) and stack.dtype == np.uint8
        for image, drawing in zip(stack, drawings, strict=True):
            np.testing.assert_array_equal(image, rasterize(drawing, fmt=fmt))
    assert rasterize_many([], size=32).shape == (0, 32, 32)


def _vector_to_raster_centre(x: float) -> float:
    """Pixel coordinate (28 px) where vector_to_raster draws a box coordinate x of a drawing whose maximum is x."""
    return (x + (256 - x) / 2 + 24) * 28 / 304


def test_box_from_zero_is_centred_and_nothing_is_recentred_or_rescaled(simplified: list) -> None:
    for drawing in simplified:
        if min(min(min(stroke[0]), min(stroke[1])) for stroke in drawing) > 0:
            continue
        top, bottom, left, right = _ink_box(rasterize(drawing))
        assert abs(top - (27 - bottom)) <= 1 and abs(left - (27 - right)) <= 1
    square = [[[0, 100, 100, 0, 0], [0, 0, 100, 100, 0]]]
    shifted = _transform(square, lambda x: x + 60, lambda y: y)
    half = _transform(square, lambda x: x / 2, lambda y: y / 2)
    box, moved, small = (_ink_box(rasterize(d)) for d in (square, shifted, half))
    assert moved[2] > box[2] and moved[3] > box[3] and moved[:2] == box[:2]  # the minimum is not centred
    assert small[3] - small[2] < box[3] - box[2]  # nor is the drawing rescaled


def test_raw_drawings_are_fitted_to_the_box_first(raw: list) -> None:
    for drawing in raw:
        image = rasterize(drawing, fmt="raw").astype(int)
        moved = _transform(drawing, lambda x: 3.7 * x - 500, lambda y: 3.7 * y + 1e4)
        assert np.abs(rasterize(moved, fmt="raw").astype(int) - image).mean() < 1.0


@pytest.mark.usefixtures("mirror")
def test_cairo_reproduces_the_datasets_rows_byte_for_byte() -> None:
    """Acceptance: >= 99% of the mirror's 1,129 drawings with their own row in the mirror, byte-identical."""
    assert "cairo" in raster.available_backends(), (
        f"cairo is not available here ({raster._cairo()}): install libcairo2 (apt) or cairo (conda-forge)"
    )
    exact = fidelity.exact_rows()
    assert exact["pairs"] == fidelity.MIRROR_EXACT_PAIRS and exact["categories"] == 35
    assert exact["cairo"]["rate"] >= fidelity.TARGET_EXACT_RATE, exact
    assert exact["numpy"]["identical"] < exact["cairo"]["identical"] and exact["numpy"]["mean_abs_diff"] < 1.0


def test_without_cairo_the_numpy_fallback_warns_once_and_is_close(
    monkeypatch: pytest.MonkeyPatch, simplified: list
) -> None:
    exact = [rasterize(drawing) for drawing in simplified]
    monkeypatch.setattr(raster, "_cairo", lambda: "OSError: no library called \"cairo-2\" was found")
    monkeypatch.setattr(raster, "_warned", False)
    assert raster.available_backends() == ("numpy",)
    with pytest.warns(raster.ApproximateBitmapWarning, match="apt install libcairo2.*conda-forge cairo"):
        approximate = [rasterize(drawing) for drawing in simplified]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rasterize(simplified[0])
    for ours, theirs in zip(approximate, exact, strict=True):
        assert np.abs(ours.astype(int) - theirs).mean() < 1.0
        assert np.abs(np.subtract(_ink_box(ours), _ink_box(theirs))).max() <= 1
    with pytest.raises(RuntimeError, match="cairo rasterizer is not available.*libcairo2"):
        rasterize(simplified[0], backend="cairo")
    with pytest.raises(ValueError, match="unknown rasterizer"):
        rasterize(simplified[0], backend="pillow")


def test_a_python_without_cairocffi_gets_approximate_bitmaps_and_one_warning() -> None:
    """The real import failure, in a fresh interpreter where ``import cairocffi`` fails."""
    script = (
        "import sys, warnings\n"
        "sys.modules['cairocffi'] = None\n"  # makes `import cairocffi` raise ImportError
        "from doodlekit.data import raster\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    images = [raster.rasterize([[[0, 255, 128], [0, 200, 255]]]) for _ in range(3)]\n"
        "print(raster.available_backends(), len(caught), caught[0].category.__name__, int(images[0].max()))\n"
        "print(caught[0].message)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    first, message = run.stdout.splitlines()[:2]
    assert first == "('numpy',) 1 ApproximateBitmapWarning 255", run.stdout
    assert "approximate" in message and "apt install libcairo2" in message and "pip install cairocffi" in message


def test_stroke_raster_equals_rasterize_after_every_push_and_pop(raw: list, monkeypatch: pytest.MonkeyPatch) -> None:
    for drawing in raw[:20]:
        canvas = raster.StrokeRaster()
        for k, stroke in enumerate(drawing):
            np.testing.assert_array_equal(canvas.push(stroke), rasterize(drawing[: k + 1], fmt="raw"))
            assert canvas.simplified == normalize_raw(drawing[: k + 1])
        for k in range(len(drawing) - 1, -1, -1):
            assert canvas.pop()
            np.testing.assert_array_equal(canvas.bitmap, rasterize(drawing[:k], fmt="raw"))
        assert not canvas.pop() and not canvas.bitmap.any()
    approximate = raster.StrokeRaster(backend="numpy")
    for k, stroke in enumerate(raw[0]):
        np.testing.assert_array_equal(approximate.push(stroke), rasterize(raw[0][: k + 1], fmt="raw", backend="numpy"))
    calls = []
    simplify = raster._simplify_stroke
    monkeypatch.setattr(raster, "_simplify_stroke", lambda *args: calls.append(1) or simplify(*args))
    canvas = raster.StrokeRaster()
    canvas.push([[0, 100, 100], [0, 0, 100]])
    canvas.push([[20, 80], [30, 30]])  # inside the box: only this stroke is simplified
    assert len(calls) == 2
    canvas.push([[0, 300], [0, 0]])  # grows the box: every stroke again
    assert len(calls) == 5


def test_simplify_rdp_measures_distance_to_the_line_through_the_ends() -> None:
    points = np.array([[0.0, 0.0], [10.0, 1.0], [20.0, 1.5], [5.0, 0.0]])
    np.testing.assert_array_equal(raster.simplify_rdp(points, 2.0), points[[0, 3]])
    corner = np.array([[0.0, 0.0], [5.0, 0.1], [10.0, 0.0], [10.0, 10.0]])
    np.testing.assert_array_equal(raster.simplify_rdp(corner, 2.0), corner[[0, 2, 3]])


def test_larger_size_is_the_same_picture_finer(simplified: list) -> None:
    drawing = simplified[0]
    pooled = rasterize(drawing, size=56).astype(float).reshape(28, 2, 28, 2).mean(axis=(1, 3))
    assert np.abs(pooled - rasterize(drawing)).mean() < 1.0


def test_overlapping_strokes_composite_darker() -> None:
    line = [[0, 255], [0, 120]]
    once, twice = rasterize([line]), rasterize([line, line])
    assert (twice >= once).all()
    partial = (once > 0) & (once < 255)
    assert (twice[partial] > once[partial]).all()


def test_empty_drawing_is_blank() -> None:
    for empty in ([], [[[], []]], [[[], [], []], [[], []]]):
        image = rasterize(empty)
        assert image.shape == (28, 28) and not image.any()
        assert not rasterize(empty, fmt="raw").any()
    assert normalize_raw([]) == []


def test_single_point_and_zero_size_boxes_draw_marks() -> None:
    dot = rasterize([[[100], [50]]], fmt="raw")
    assert dot.any() and (dot == dot[::-1]).all() and (dot == dot[:, ::-1]).all()
    assert _ink_box(dot) == (13, 14, 13, 14)
    assert normalize_raw([[[100], [50]]]) == [[[0, 0], [0, 0]]]  # a dot stays two points, as in the dataset
    mark = rasterize([[[100], [50]]])
    rows, cols = np.nonzero(mark == mark.max())
    assert abs(cols.mean() + 0.5 - _vector_to_raster_centre(100)) < 1
    assert abs(rows.mean() + 0.5 - _vector_to_raster_centre(50)) < 1
    line = rasterize([[[3, 90], [7, 7]]], fmt="raw")
    top, bottom, left, right = _ink_box(line)
    assert (top, bottom) == (13, 14) and left < 3 and right > 24


def test_huge_raw_input_is_fitted_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(scale=1e5, size=(3, 5000)), axis=1)
    image = rasterize([walk[:, :2500], walk[:, 2500:]], fmt="raw")
    top, bottom, left, right = _ink_box(image)
    assert min(top, left) >= 1 and max(bottom, right) <= 26 and max(bottom - top, right - left) >= 22
    calls = []
    simplify = raster.simplify_rdp
    monkeypatch.setattr(raster, "MAX_RESAMPLED_POINTS", 2000)
    monkeypatch.setattr(raster, "simplify_rdp", lambda pts, eps: calls.append(len(pts)) or simplify(pts, eps))
    raster.normalize_raw([walk[:, :2500], walk[:, 2500:]])
    assert len(calls) == 2 and max(calls) <= 2002


def test_simplified_coordinates_outside_the_box_are_refused() -> None:
    for drawing in ([[[0, 300], [0, 10]]], [[[-5, 10], [0, 10]]]):
        with pytest.raises(ValueError, match="0..255.*fmt='raw'"):
            rasterize(drawing)


def test_normalize_raw_is_in_the_box_from_zero_with_fewer_points(raw: list) -> None:
    box = [[[10, 265, 265, 10, 10], [20, 20, 147, 147, 20], [0, 100, 200, 300, 400]]]
    assert normalize_raw(box) == [[[0, 255, 255, 0, 0], [0, 0, 127, 127, 0]]]
    assert normalize_raw(_transform(box, lambda x: 2 * x, lambda y: 2 * y)) == normalize_raw(box)
    for drawing in raw:
        normalized = normalize_raw(drawing)
        points = np.concatenate([np.array(stroke) for stroke in normalized], axis=1)
        assert points.dtype.kind == "i" and points.min() >= 0 and points.max() <= 255
        assert points.min(axis=1).max() <= 2 and points.max() >= 253
        assert len(normalized) == len(drawing)
        assert points.shape[1] < sum(len(stroke[0]) for stroke in drawing)


@pytest.mark.usefixtures("mirror")
def test_normalize_raw_matches_the_datasets_simplification() -> None:
    pairs = [pair for category in SAMPLE_CATEGORIES for pair in fidelity.matched_drawings(category)]
    agreement = fidelity.raw_agreement(pairs)
    assert agreement["drawings"] >= 100
    assert agreement["exact_drawings"] > 0.85 and agreement["exact_strokes"] > 0.95
    assert 0.98 < agreement["point_ratio"] < 1.02
    assert agreement["mean_abs_pixel_diff"] < 1.0


@pytest.mark.slow
@pytest.mark.usefixtures("mirror")
def test_normalize_raw_matches_the_dataset_on_every_shared_drawing() -> None:
    """All 7,948 raw drawings of the mirror whose key_id is also in simplified/: 95% identical."""
    pairs = [pair for category in fidelity.ALL_CATEGORIES for pair in fidelity.matched_drawings(category)]
    assert len(pairs) == 7948
    exact = sum(normalize_raw(raw) == simplified for raw, simplified in pairs) / len(pairs)
    assert exact >= 0.94, exact


def test_times_row_is_ignored(raw: list) -> None:
    drawing = raw[0]
    without_times = [stroke[:2] for stroke in drawing]
    assert normalize_raw(without_times) == normalize_raw(drawing)
    np.testing.assert_array_equal(rasterize(without_times, fmt="raw"), rasterize(drawing, fmt="raw"))


@pytest.mark.parametrize(
    "drawing",
    [
        "not strokes",
        {"drawing": [[[0], [0]]]},
        [[0, 1, 2]],
        [[[0, 1], [2]]],
        [[[0], [1], [2], [3]]],
        [[["a"], ["b"]]],
        [[[0, float("nan")], [0, 1]]],
        [[[0, 1], [0, float("inf")]]],
        [None],
    ],
)
@pytest.mark.parametrize("fmt", ["simplified", "raw"])
def test_malformed_drawings_raise_value_error_naming_the_shape(drawing: object, fmt: str) -> None:
    with pytest.raises(ValueError, match=r"\[xs, ys\] or \[xs, ys, ts\]"):
        rasterize(drawing, fmt=fmt)


def test_bad_format_or_size_raise_value_error() -> None:
    with pytest.raises(ValueError, match="'simplified' or 'raw'"):
        rasterize([[[0], [0]]], fmt="bitmap")
    for size in (0, -3, 2.5, raster.MAX_SIZE + 1, True):
        with pytest.raises(ValueError, match="size must be an integer"):
            rasterize([[[0], [0]]], size=size)


def test_pixel_statistics_match_real_bitmaps(fidelity_data: fidelity.FidelityData) -> None:
    real = fidelity.pixel_statistics(np.concatenate([fidelity_data.train, fidelity_data.heldout]))
    for name in ("simplified", "raw"):
        ours = fidelity.pixel_statistics(getattr(fidelity_data, name))
        for key in ("mean_ink", "nonzero", "full"):
            assert ours[key] == pytest.approx(real[key], rel=0.1), (name, key)
        for key in ("top", "bottom", "left", "right", "centre_row", "centre_col"):
            assert ours[key] == pytest.approx(real[key], abs=0.5), (name, key)
        assert np.abs(np.subtract(ours["histogram"], real["histogram"])).max() < 0.03, name


@pytest.mark.slow
def test_classifier_trained_on_bitmaps_reads_rasterized_strokes(fidelity_data: fidelity.FidelityData) -> None:
    """Acceptance: rasterized strokes score within 10 points of held-out real bitmaps."""
    assert len(fidelity_data.categories) == 41 and len(fidelity_data.simplified) >= 41 * 25
    scores = fidelity.accuracies(fidelity_data)
    assert scores["heldout"] > 0.3
    for fmt in ("simplified", "raw"):
        assert abs(scores[fmt] - scores["heldout"]) * 100 <= fidelity.MAX_GAP_POINTS, scores
