"""Strokes -> bitmaps that look like the dataset's own ``numpy_bitmap`` images.

A *drawing* is a list of strokes in the dataset's own layout: each stroke is
``[xs, ys]`` or ``[xs, ys, ts]`` (equal-length number sequences; ``ts``, the
time in ms, is accepted and ignored). Coordinates are

* ``fmt="simplified"``: the ``simplified`` files' 0-255 box (any box works:
  the drawing is re-fitted to its bounding box, so shifted or scaled copies
  give the same bitmap);
* ``fmt="raw"``: canvas pixels, as in the ``raw`` files and the drawing
  widget; :func:`normalize_raw` first turns them into a simplified drawing the
  way the dataset did.

Rendering follows the Quick, Draw! team's cairo ``vector_to_raster``
(quickdraw-dataset issue #19), which made the ``numpy_bitmap`` files: the
drawing's bounding box is centred in a 256 box, each stroke is drawn
``LINE_WIDTH`` wide with round caps and joins and composited over the strokes
before it, with ``PADDING`` plus half a line width around the box, at
anti-aliased ``size x size``. Here anti-aliasing is exact sampling: a pixel's
value is the fraction of its ``SUPERSAMPLE x SUPERSAMPLE`` sample points that
lie within half a line width of the stroke, times 255.

The one deliberate difference: cairo's reference centres ``[0, max]`` (it
assumes a minimum of 0), this module centres ``[min, max]``; they differ only
for the few dataset drawings whose simplification left a minimum above 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from simplification.cutil import simplify_coords

#: Side of the simplified coordinate box: coordinates span 0..BOX.
BOX = 255.0
#: Stroke width, in units of the 256 box (the dataset's value).
LINE_WIDTH = 16.0
#: Empty margin on each side, in units of the 256 box, on top of half a line width.
PADDING = 16.0
#: Linear oversampling factor of the anti-aliasing.
SUPERSAMPLE = 16
#: Point spacing of the dataset's resampling of raw strokes, in box units.
RESAMPLE_SPACING = 1.0
#: Ramer-Douglas-Peucker tolerance of the dataset's simplification, in box units.
RDP_EPSILON = 2.0
#: Most points (plus two per stroke) one raw drawing is resampled to; longer paths get a wider spacing.
MAX_RESAMPLED_POINTS = 100_000
#: Largest bitmap side :func:`rasterize` draws.
MAX_SIZE = 512

_SHAPE_HINT = (
    "a drawing is a list of strokes, each [xs, ys] or [xs, ys, ts]: 2 or 3 equal-length "
    "sequences of finite numbers (the Quick, Draw! ndjson 'drawing' layout)"
)


def _strokes(drawing: Sequence) -> list[np.ndarray]:
    """Validate a drawing; return its non-empty strokes as (n, 2) float64 arrays of (x, y)."""
    if isinstance(drawing, (str, bytes, dict)) or not isinstance(drawing, (Sequence, np.ndarray)):
        raise ValueError(f"expected a list of strokes, got {type(drawing).__name__}; {_SHAPE_HINT}")
    strokes = []
    for i, stroke in enumerate(drawing):
        try:
            rows = np.asarray(stroke, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"stroke {i} is not a 2-D array of numbers ({exc}); {_SHAPE_HINT}") from None
        if rows.ndim != 2 or rows.shape[0] not in (2, 3):
            raise ValueError(f"stroke {i} has shape {rows.shape}, expected (2, n) or (3, n); {_SHAPE_HINT}")
        if not np.isfinite(rows).all():
            raise ValueError(f"stroke {i} holds NaN or infinite values; {_SHAPE_HINT}")
        if rows.shape[1]:
            strokes.append(np.ascontiguousarray(rows[:2].T))
    return strokes


def _fit_box(strokes: list[np.ndarray]) -> list[np.ndarray]:
    """Shift strokes to a minimum of 0 and scale uniformly to a maximum of BOX (zero-size boxes stay put)."""
    points = np.concatenate(strokes)
    low = points.min(axis=0)
    extent = float((points.max(axis=0) - low).max())
    if not np.isfinite(extent):
        raise ValueError(f"coordinates span more than a float64 can hold; {_SHAPE_HINT}")
    scale = BOX / extent if extent > 0 else 1.0
    return [(stroke - low) * scale for stroke in strokes]


def _resample(stroke: np.ndarray, spacing: float) -> np.ndarray:
    """Points every ``spacing`` along a (n, 2) polyline, both ends included."""
    steps = np.hypot(*np.diff(stroke, axis=0).T)
    keep = np.concatenate([[True], steps > 0])
    stroke, arc = stroke[keep], np.concatenate([[0.0], np.cumsum(steps[steps > 0])])
    if arc[-1] == 0:
        return stroke[:1]
    at = np.append(np.arange(0.0, arc[-1], spacing), arc[-1])
    return np.column_stack([np.interp(at, arc, stroke[:, 0]), np.interp(at, arc, stroke[:, 1])])


def normalize_raw(drawing: Sequence) -> list[list[list[int]]]:
    """Turn a raw drawing (canvas pixels) into a simplified one, as the dataset did.

    Aligns the drawing to a minimum of 0, scales it uniformly to a maximum of 255,
    resamples every stroke at 1 unit spacing and simplifies it with
    Ramer-Douglas-Peucker (epsilon 2.0), then rounds to integers.

    Args:
        drawing: strokes ``[xs, ys]`` or ``[xs, ys, ts]`` in any unit (times ignored).

    Returns:
        Strokes ``[xs, ys]`` of ``int`` in 0..255; empty strokes are dropped.

    Raises:
        ValueError: ``drawing`` is not a list of such strokes, or holds NaN.
    """
    strokes = _strokes(drawing)
    if not strokes:
        return []
    strokes = _fit_box(strokes)
    length = sum(float(np.hypot(*np.diff(s, axis=0).T).sum()) for s in strokes)
    spacing = max(RESAMPLE_SPACING, length / MAX_RESAMPLED_POINTS)
    simplified = []
    for stroke in strokes:
        kept = simplify_coords(_resample(stroke, spacing), RDP_EPSILON)
        xy = np.clip(np.rint(kept), 0, BOX).astype(int)
        simplified.append([xy[:, 0].tolist(), xy[:, 1].tolist()])
    return simplified


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 1 <= size <= MAX_SIZE:
        raise ValueError(f"size must be an integer from 1 to {MAX_SIZE} (pixels per side), got {size!r}")
    return int(size)


def _ink(mask: np.ndarray, start: Sequence[float], end: Sequence[float], radius: float) -> None:
    """Set the samples of ``mask`` within ``radius`` of segment start-end (sample units) to True."""
    (x0, y0), (x1, y1) = start, end
    left = max(0, math.floor(min(x0, x1) - radius))
    right = min(mask.shape[1], math.ceil(max(x0, x1) + radius) + 1)
    top = max(0, math.floor(min(y0, y1) - radius))
    bottom = min(mask.shape[0], math.ceil(max(y0, y1) + radius) + 1)
    ax, ay = x1 - x0, y1 - y0
    dx = np.arange(left, right) + (0.5 - x0)
    dy = (np.arange(top, bottom) + (0.5 - y0))[:, None]
    squared = ax * ax + ay * ay
    t = np.clip((dx * ax + dy * ay) * (1 / squared), 0, 1) if squared > 0 else 0.0
    mask[top:bottom, left:right] |= (dx - t * ax) ** 2 + (dy - t * ay) ** 2 <= radius * radius


def _stroke_coverage(samples: np.ndarray, radius: float, size: int) -> tuple[np.ndarray, int, int]:
    """Ink fraction of the pixels around one stroke, with its top-left pixel (row, column).

    ``samples`` is the (n, 2) stroke in sample units (SUPERSAMPLE per pixel); a sample is
    ink when its centre lies within ``radius`` of the polyline (round caps and joins).
    """
    low = np.clip(np.floor((samples.min(axis=0) - radius) / SUPERSAMPLE), 0, size - 1).astype(int)
    high = np.clip(np.ceil((samples.max(axis=0) + radius) / SUPERSAMPLE), low + 1, size).astype(int)
    rows, cols = high[1] - low[1], high[0] - low[0]
    mask = np.zeros((rows * SUPERSAMPLE, cols * SUPERSAMPLE), dtype=bool)
    local = (samples - low * SUPERSAMPLE).tolist()
    for start, end in zip(local, local[1:] if len(local) > 1 else local):
        _ink(mask, start, end, radius)
    return mask.reshape(rows, SUPERSAMPLE, cols, SUPERSAMPLE).mean(axis=(1, 3)), low[1], low[0]


def _render(strokes: list[np.ndarray], size: int) -> np.ndarray:
    """Draw box-fitted strokes centred, like cairo's ``vector_to_raster``; (size, size) uint8.

    Each stroke's coverage is composited over the strokes before it (cairo's OVER
    operator), so overlapping strokes darken as in the dataset. Strokes are first
    thinned by RDP at a quarter sample (invisible), so dense input draws no slower
    than it needs to.
    """
    paper = np.ones((size, size))
    if strokes:
        side = size * SUPERSAMPLE
        scale = side / (BOX + 1 + 2 * PADDING + LINE_WIDTH)
        points = np.concatenate(strokes)
        centre = (points.min(axis=0) + points.max(axis=0)) / 2
        radius = LINE_WIDTH * scale / 2
        for stroke in strokes:
            samples = simplify_coords(np.ascontiguousarray((stroke - centre) * scale + side / 2), 0.25)
            coverage, top, left = _stroke_coverage(samples, radius, size)
            paper[top : top + coverage.shape[0], left : left + coverage.shape[1]] *= 1 - coverage
    return np.rint((1 - paper) * 255).astype(np.uint8)


def rasterize(drawing: Sequence, *, fmt: str = "simplified", size: int = 28) -> np.ndarray:
    """Render one drawing like a ``numpy_bitmap`` row.

    Args:
        drawing: strokes ``[xs, ys]`` or ``[xs, ys, ts]`` (see the module docstring).
        fmt: ``"simplified"`` (any box, fitted to 0..255) or ``"raw"`` (canvas
            pixels, passed through :func:`normalize_raw` first).
        size: bitmap side in pixels.

    Returns:
        (size, size) uint8, ink 255 on paper 0, the drawing's bounding box
        centred; an empty drawing gives all zeros.

    Raises:
        ValueError: malformed drawing (the message gives the expected shape),
            NaN coordinates, unknown ``fmt`` or a bad ``size``.
    """
    size = _check_size(size)
    if fmt == "raw":
        drawing = normalize_raw(drawing)
    elif fmt != "simplified":
        raise ValueError(f"unknown stroke format {fmt!r}; use 'simplified' or 'raw'")
    strokes = _strokes(drawing)
    return _render(_fit_box(strokes) if strokes else [], size)


def rasterize_many(drawings: Iterable[Sequence], fmt: str = "simplified", *, size: int = 28) -> np.ndarray:
    """Render many drawings with :func:`rasterize`; (N, size, size) uint8."""
    size = _check_size(size)
    images = [rasterize(drawing, fmt=fmt, size=size) for drawing in drawings]
    return np.stack(images) if images else np.zeros((0, size, size), dtype=np.uint8)


def as_bitmaps(
    images: np.ndarray,
    what: str = "images",
    *,
    rows: bool = True,
    single: bool = False,
    size: int | None = 28,
    dtype: type | None = np.uint8,
) -> np.ndarray:
    """Bitmaps as an (N, 28, 28) array (a view where the input allows), or a ValueError saying what to pass.

    The one check of bitmap arguments: inference, the doodle search and the figures call it, each
    saying what it accepts beyond (N, 28, 28) ``dtype`` bitmaps (ink 255 on paper 0).

    Args:
        images: the bitmaps.
        what: the argument's name, for the message.
        rows: also accept (N, 784) rows, as :func:`~doodlekit.data.load_bitmaps` gives them.
        single: also accept one (28, 28) bitmap, returned as (1, 28, 28).
        size: the bitmaps' side; None accepts (N, h, w) (and with ``single`` one (h, w)) of any size.
        dtype: the bitmaps' dtype; None accepts any.

    Raises:
        ValueError: another shape or dtype; the message lists the accepted ones.
    """
    array = np.asarray(images)
    side = size or 28
    if rows and array.ndim == 2 and array.shape[1] == side * side:
        array = array.reshape(-1, side, side)
    elif single and array.ndim == 2 and (size is None or array.shape == (size, size)):
        array = array[None]
    shape_ok = array.ndim == 3 and (size is None or array.shape[1:] == (size, size))
    if not shape_ok or (dtype is not None and array.dtype != dtype):
        square = "h, w" if size is None else f"{size}, {size}"
        shapes = [f"(N, {square})"] + [f"(N, {side * side})"] * rows + [f"({square})"] * single
        kind = "array" if dtype is None else f"{np.dtype(dtype).name} array"
        hints = ["dataset.images"] + ["load_bitmaps(...) rows"] * rows + ["one bitmap as image[None]"] * (not single)
        hint = f"{', '.join(hints[:-1])}, or {hints[-1]}" if len(hints) > 1 else hints[0]
        given = np.asarray(images)
        raise ValueError(
            f"{what} must be an {' or '.join(shapes)} {kind} (0 = paper, 255 = ink), got {given.shape} {given.dtype}; "
            f"pass {hint}"
        )
    return array
