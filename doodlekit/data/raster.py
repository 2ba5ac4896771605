"""Strokes -> the dataset's own ``numpy_bitmap`` images, byte for byte (with libcairo).

A *drawing* is a list of strokes in the dataset's own layout: each stroke is
``[xs, ys]`` or ``[xs, ys, ts]`` (equal-length number sequences; ``ts``, the
time in ms, is accepted and ignored). Coordinates are

* ``fmt="simplified"``: the ``simplified`` files' box, 0..255 (what the dataset
  stores; nothing is re-centred or rescaled, as in Google's code);
* ``fmt="raw"``: canvas pixels, as in the ``raw`` files and the drawing widget;
  :func:`normalize_raw` first turns them into a simplified drawing the way the
  dataset did.

Rendering is a port of the Quick, Draw! team's ``vector_to_raster``
(quickdraw-dataset issue #19), which made the ``numpy_bitmap`` files: a cairo
``size x size`` surface scaled by ``size / (256 + 2 * PADDING + LINE_WIDTH)``
and shifted by half that padding, strokes offset by ``(256 - max) / 2`` per axis
(``max`` over all points; the minimum is not centred and nothing is rescaled),
drawn white on black ``LINE_WIDTH`` wide with round caps and joins, one stroke
after the other, with ``ANTIALIAS_BEST``. With cairo (the ``cairocffi`` package
and the system library libcairo) the result is the dataset's row byte for byte:
all 1,129 drawings of the offline mirror whose row is in the mirror
(``benchmarks/raster_fidelity.py``).

Without libcairo, :func:`rasterize` falls back to a numpy rasterizer with the same
geometry whose anti-aliasing is exact area sampling on a ``SUPERSAMPLE`` grid, not
cairo's: its bitmaps differ from the dataset's by about one grey level on average
and are not byte-identical. It says so once with an :class:`ApproximateBitmapWarning`
naming the packages to install (Debian/Ubuntu ``libcairo2``, conda-forge ``cairo``,
macOS Homebrew ``cairo``).
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Side of the simplified coordinate box: coordinates span 0..BOX.
BOX = 255.0
#: Stroke width, in units of the 256 box (the dataset's value).
LINE_WIDTH = 16.0
#: Empty margin on each side, in units of the 256 box, on top of half a line width.
PADDING = 16.0
#: Linear oversampling factor of the numpy fallback's anti-aliasing.
SUPERSAMPLE = 16
#: Point spacing of the dataset's resampling of raw strokes, in box units.
RESAMPLE_SPACING = 1.0
#: Ramer-Douglas-Peucker tolerance of the dataset's simplification, in box units.
RDP_EPSILON = 2.0
#: Most points one raw stroke is resampled to; a longer stroke gets a wider spacing (the mirror's longest
#: raw stroke is 36,000 units long in the 255 box, 99.9% are under 2,700).
MAX_RESAMPLED_POINTS = 50_000
#: Largest bitmap side :func:`rasterize` draws.
MAX_SIZE = 512
#: Rasterizers :func:`rasterize` knows, exact first: ``"cairo"`` (the dataset's own), ``"numpy"`` (approximate).
BACKENDS = ("cairo", "numpy")

_SIDE = 256.0
_MARGIN = 2 * PADDING + LINE_WIDTH
_SHAPE_HINT = (
    "a drawing is a list of strokes, each [xs, ys] or [xs, ys, ts]: 2 or 3 equal-length "
    "sequences of finite numbers (the Quick, Draw! ndjson 'drawing' layout)"
)
_INSTALL_CAIRO = (
    "install the cairo library (Debian/Ubuntu: apt install libcairo2; conda: conda install -c conda-forge cairo; "
    "macOS: brew install cairo) and the cairocffi package (pip install cairocffi)"
)


class ApproximateBitmapWarning(UserWarning):
    """Bitmaps come from the numpy fallback: close to the dataset's rows, not byte-identical."""


@functools.cache
def _cairo() -> Any:
    """The cairocffi module, or the reason it cannot be used (a str)."""
    try:
        import cairocffi
    except (ImportError, OSError) as exc:  # cairocffi raises OSError when libcairo is missing
        return f"{type(exc).__name__}: {exc}"
    return cairocffi


def available_backends() -> tuple[str, ...]:
    """The rasterizers of :data:`BACKENDS` that work here, exact first."""
    return BACKENDS if not isinstance(_cairo(), str) else ("numpy",)


_warned = False


def _backend(backend: str | None) -> str:
    """Check a ``backend`` argument; None picks cairo when it works, else numpy with a one-time warning."""
    global _warned
    if backend is None:
        if not isinstance(_cairo(), str):
            return "cairo"
        if not _warned:
            _warned = True
            warnings.warn(
                "doodlekit draws approximate bitmaps: cairo is not available here "
                f"({_cairo()}), so strokes are rasterized by numpy, about one grey level off the dataset's "
                f"numpy_bitmap rows and never byte-identical. For the dataset's exact bitmaps, {_INSTALL_CAIRO}.",
                ApproximateBitmapWarning,
                stacklevel=3,
            )
        return "numpy"
    if backend not in BACKENDS:
        raise ValueError(f"unknown rasterizer {backend!r}; use one of {BACKENDS} or None (the best available)")
    if backend == "cairo" and isinstance(_cairo(), str):
        raise RuntimeError(f"the cairo rasterizer is not available ({_cairo()}); {_INSTALL_CAIRO}")
    return backend


def _strokes(drawing: Sequence) -> list[np.ndarray]:
    """Validate a drawing; return its non-empty strokes as (n, 2) float64 arrays of (x, y)."""
    if isinstance(drawing, (str, bytes, dict)) or not isinstance(drawing, (Sequence, np.ndarray)):
        raise ValueError(f"expected a list of strokes, got {type(drawing).__name__}; {_SHAPE_HINT}")
    strokes = []
    for i, stroke in enumerate(drawing):
        strokes += _points(stroke, i)
    return strokes


def _points(stroke: Any, i: int = 0) -> list[np.ndarray]:
    """One stroke as [(n, 2) float64 array of (x, y)], or [] when it has no point."""
    try:
        rows = np.asarray(stroke, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"stroke {i} is not a 2-D array of numbers ({exc}); {_SHAPE_HINT}") from None
    if rows.ndim != 2 or rows.shape[0] not in (2, 3):
        raise ValueError(f"stroke {i} has shape {rows.shape}, expected (2, n) or (3, n); {_SHAPE_HINT}")
    if not np.isfinite(rows).all():
        raise ValueError(f"stroke {i} holds NaN or infinite values; {_SHAPE_HINT}")
    return [np.ascontiguousarray(rows[:2].T)] if rows.shape[1] else []


def _box_transform(low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, float]:
    """(shift, extent) of a box (low, high): points ``(p - shift) * BOX / extent`` fill the box from 0
    (``extent`` 0 for a single point: nothing is scaled)."""
    extent = float((high - low).max())
    if not np.isfinite(extent * BOX):
        raise ValueError(f"coordinates span more than a float64 can hold; {_SHAPE_HINT}")
    return low, extent


def _resample(stroke: np.ndarray, spacing: float) -> np.ndarray:
    """Points every ``spacing`` of arc length along a (n, 2) polyline, both ends included."""
    steps = np.hypot(*np.diff(stroke, axis=0).T)
    keep = np.concatenate([[True], steps > 0])
    stroke, arc = stroke[keep], np.concatenate([[0.0], np.cumsum(steps[steps > 0])])
    if arc[-1] == 0:
        return stroke[:1]
    at = np.append(np.arange(0.0, arc[-1], spacing), arc[-1])
    return np.column_stack([np.interp(at, arc, stroke[:, 0]), np.interp(at, arc, stroke[:, 1])])


def simplify_rdp(points: np.ndarray, epsilon: float = RDP_EPSILON) -> np.ndarray:
    """Ramer-Douglas-Peucker simplification of a polyline, as the dataset's simplification measured it.

    A point's distance is to the infinite line through its span's two ends (to the first end when
    they coincide), not to the segment between them: with the segment distance, 23% of the
    mirror's raw drawings simplify to the dataset's strokes, with the line distance 95%. Runs
    compiled by numba (:func:`_rdp_kernel`; about 0.1 ms for 5,000 points).

    Args:
        points: (n, 2) float polyline.
        epsilon: largest distance of a dropped point from the kept polyline, in the points' units.

    Returns:
        (m, 2) the kept points, in order; the ends are always kept.
    """
    points = np.ascontiguousarray(points, dtype=np.float64)
    keep = np.zeros(len(points), dtype=bool)
    keep[[0, -1]] = True
    _compiled_rdp()(points, float(epsilon), keep, np.empty((len(points), 2), dtype=np.int64))
    return points[keep]


@functools.cache
def _compiled_rdp() -> Any:
    """:func:`_rdp_kernel` compiled by numba, cached on disk where a cache folder is writable."""
    import numba

    try:
        return numba.njit(nogil=True, cache=True)(_rdp_kernel)
    except RuntimeError:  # "cannot cache function ...: no locator available" (no writable cache directory)
        return numba.njit(nogil=True)(_rdp_kernel)


def _rdp_kernel(points: np.ndarray, epsilon: float, keep: np.ndarray, stack: np.ndarray) -> None:
    """Mark in ``keep`` the points RDP keeps of (n, 2) ``points``; ``stack`` is (n, 2) int64 scratch.

    Written for numba. A span (first, last) keeps its farthest inner point (the first of equals)
    when that point is farther than ``epsilon`` from the line through its ends, and both halves
    are then simplified the same way.
    """
    top = 1
    stack[0, 0], stack[0, 1] = 0, len(points) - 1
    while top > 0:
        top -= 1
        first, last = stack[top, 0], stack[top, 1]
        if last - first < 2:
            continue
        sx, sy = points[first, 0], points[first, 1]
        dx, dy = points[last, 0] - sx, points[last, 1] - sy
        length = math.hypot(dx, dy)
        farthest, largest = first + 1, -1.0
        for i in range(first + 1, last):
            rx, ry = points[i, 0] - sx, points[i, 1] - sy
            distance = abs(dx * ry - dy * rx) / length if length > 0 else math.hypot(rx, ry)
            if distance > largest:
                farthest, largest = i, distance
        if largest > epsilon:
            keep[farthest] = True
            stack[top, 0], stack[top, 1] = first, farthest
            stack[top + 1, 0], stack[top + 1, 1] = farthest, last
            top += 2


def _simplify_stroke(stroke: np.ndarray, shift: np.ndarray, extent: float) -> np.ndarray:
    """One raw stroke -> (m, 2) int64 simplified points (aligned, scaled, resampled, RDP, rounded).

    Scaled as ``(x - shift) * 255 / extent``, in that order: the last bits decide a few roundings and
    RDP choices, and this order matches the dataset for 95.0% of drawings, ``* (255 / extent)`` for 94.1%.
    """
    boxed = (stroke - shift) * BOX / extent if extent > 0 else stroke - shift
    length = float(np.hypot(*np.diff(boxed, axis=0).T).sum())
    resampled = _resample(boxed, max(RESAMPLE_SPACING, length / MAX_RESAMPLED_POINTS))
    kept = simplify_rdp(resampled, RDP_EPSILON) if len(resampled) > 1 else resampled[[0, 0]]
    return np.clip(np.rint(kept), 0, BOX).astype(np.int64)


def normalize_raw(drawing: Sequence) -> list[list[list[int]]]:
    """Turn a raw drawing (canvas pixels) into a simplified one, as the dataset did.

    The dataset's published procedure: align the drawing to a minimum of 0, scale it uniformly
    to a maximum of 255, resample every stroke at 1 unit of arc length, simplify it with
    Ramer-Douglas-Peucker (epsilon 2.0, distances to the line through a span's ends,
    :func:`simplify_rdp`), round to integers; a stroke that is one point stays two equal
    points. On the mirror's 7,948 raw drawings that are also in ``simplified/``, 95% come out
    identical to the dataset's strokes; the others differ by a point or a pixel somewhere
    (``benchmarks/raster_fidelity.py``). A stroke longer than :data:`MAX_RESAMPLED_POINTS`
    units is resampled more coarsely.

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
    points = np.concatenate(strokes)
    shift, extent = _box_transform(points.min(axis=0), points.max(axis=0))
    simplified = [_simplify_stroke(stroke, shift, extent) for stroke in strokes]
    return [[xy[:, 0].tolist(), xy[:, 1].tolist()] for xy in simplified]


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 1 <= size <= MAX_SIZE:
        raise ValueError(f"size must be an integer from 1 to {MAX_SIZE} (pixels per side), got {size!r}")
    return int(size)


def _offset(high: np.ndarray) -> np.ndarray:
    """vector_to_raster's shift of the strokes, (2,) box units: ``(256 - max) / 2`` per axis."""
    return (np.array([_SIDE, _SIDE]) - high) / 2.0


def _blank(size: int, backend: str) -> np.ndarray:
    """An empty canvas: (size, size) uint32 opaque-black cairo pixels, or float paper 1.0 for numpy."""
    return np.full((size, size), 0xFF000000, dtype=np.uint32) if backend == "cairo" else np.ones((size, size))


def _to_bitmap(canvas: np.ndarray) -> np.ndarray:
    """A canvas of :func:`_blank` -> (size, size) uint8, ink 255 on paper 0."""
    if canvas.dtype == np.uint32:
        return (canvas & 0xFF).astype(np.uint8)  # the blue byte, as vector_to_raster reads it
    return np.rint((1 - canvas) * 255).astype(np.uint8)


def _draw(canvas: np.ndarray, strokes: Sequence[np.ndarray], offset: np.ndarray) -> np.ndarray:
    """A copy of ``canvas`` with ``strokes`` ((n, 2) box units) drawn over it, shifted by ``offset``."""
    canvas = canvas.copy()
    if canvas.dtype == np.uint32:
        _draw_cairo(canvas, strokes, offset)
    else:
        _draw_numpy(canvas, strokes, offset)
    return canvas


def _draw_cairo(pixels: np.ndarray, strokes: Sequence[np.ndarray], offset: np.ndarray) -> None:
    """vector_to_raster's drawing loop on (size, size) ARGB32 ``pixels``, in place."""
    cairo = _cairo()
    size = pixels.shape[0]
    buffer = pixels.reshape(-1).view(np.uint8)
    surface = cairo.ImageSurface.create_for_data(buffer, cairo.FORMAT_ARGB32, size, size, 4 * size)
    context = cairo.Context(surface)
    context.set_antialias(cairo.ANTIALIAS_BEST)
    context.set_line_cap(cairo.LINE_CAP_ROUND)
    context.set_line_join(cairo.LINE_JOIN_ROUND)
    context.set_line_width(LINE_WIDTH)
    scale = float(size) / float(_SIDE + _MARGIN)
    context.scale(scale, scale)
    context.translate(_MARGIN / 2.0, _MARGIN / 2.0)
    context.set_source_rgb(1, 1, 1)
    for stroke in strokes:
        points = (stroke + offset).tolist()
        context.move_to(*points[0])
        for x, y in points:
            context.line_to(x, y)
        context.stroke()
    surface.flush()
    surface.finish()


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


def _draw_numpy(paper: np.ndarray, strokes: Sequence[np.ndarray], offset: np.ndarray) -> None:
    """The numpy fallback on (size, size) float ``paper`` (1 = no ink), in place.

    A pixel's ink is the fraction of its SUPERSAMPLE x SUPERSAMPLE sample points within half a
    line width of the stroke; each stroke is composited over the ones before (cairo's OVER).
    Strokes are thinned by RDP at a quarter sample first (invisible), so dense input is no slower
    than it needs to be.
    """
    size = paper.shape[0]
    scale = size * SUPERSAMPLE / (_SIDE + _MARGIN)
    radius = LINE_WIDTH * scale / 2
    for stroke in strokes:
        samples = simplify_rdp((stroke + offset + _MARGIN / 2) * scale, 0.25)
        low = np.clip(np.floor((samples.min(axis=0) - radius) / SUPERSAMPLE), 0, size - 1).astype(int)
        high = np.clip(np.ceil((samples.max(axis=0) + radius) / SUPERSAMPLE), low + 1, size).astype(int)
        rows, cols = high[1] - low[1], high[0] - low[0]
        mask = np.zeros((rows * SUPERSAMPLE, cols * SUPERSAMPLE), dtype=bool)
        local = (samples - low * SUPERSAMPLE).tolist()
        for start, end in zip(local, local[1:] if len(local) > 1 else local):
            _ink(mask, start, end, radius)
        coverage = mask.reshape(rows, SUPERSAMPLE, cols, SUPERSAMPLE).mean(axis=(1, 3))
        paper[low[1] : high[1], low[0] : high[0]] *= 1 - coverage


def rasterize(drawing: Sequence, *, fmt: str = "simplified", size: int = 28, backend: str | None = None) -> np.ndarray:
    """Render one drawing as the dataset rendered its ``numpy_bitmap`` rows.

    Args:
        drawing: strokes ``[xs, ys]`` or ``[xs, ys, ts]`` (see the module docstring).
        fmt: ``"simplified"`` (coordinates in the 0..255 box, drawn as they are) or ``"raw"``
            (canvas pixels, passed through :func:`normalize_raw` first).
        size: bitmap side in pixels.
        backend: ``"cairo"`` (byte-identical to the dataset at size 28), ``"numpy"``
            (approximate, no system library), or None: cairo when it works here, else numpy
            with a one-time :class:`ApproximateBitmapWarning`.

    Returns:
        (size, size) uint8, ink 255 on paper 0; an empty drawing gives all zeros.

    Raises:
        ValueError: malformed drawing (the message gives the expected shape), NaN coordinates,
            simplified coordinates outside 0..256, unknown ``fmt`` or ``backend``, or a bad ``size``.
        RuntimeError: ``backend="cairo"`` where cairo cannot be loaded.
    """
    size = _check_size(size)
    if fmt == "raw":
        drawing = normalize_raw(drawing)
    elif fmt != "simplified":
        raise ValueError(f"unknown stroke format {fmt!r}; use 'simplified' or 'raw'")
    strokes = _strokes(drawing)
    backend = _backend(backend)
    if not strokes:
        return np.zeros((size, size), dtype=np.uint8)
    points = np.concatenate(strokes)
    if points.min() < 0 or points.max() > _SIDE:
        raise ValueError(
            f"simplified coordinates must lie in 0..{BOX:.0f} (the dataset's box), "
            f"got {points.min():g}..{points.max():g}; "
            "pass fmt='raw' for a drawing in other units (it is aligned and scaled into the box first)"
        )
    return _to_bitmap(_draw(_blank(size, backend), strokes, _offset(points.max(axis=0))))


def rasterize_many(
    drawings: Iterable[Sequence], fmt: str = "simplified", *, size: int = 28, backend: str | None = None
) -> np.ndarray:
    """Render many drawings with :func:`rasterize`; (N, size, size) uint8."""
    size = _check_size(size)
    images = [rasterize(drawing, fmt=fmt, size=size, backend=backend) for drawing in drawings]
    return np.stack(images) if images else np.zeros((0, size, size), dtype=np.uint8)


def _highest(simplified: list[np.ndarray]) -> np.ndarray:
    """(2,) float64 largest x and y of simplified strokes ((n, 2) each): what sets vector_to_raster's offset."""
    return np.max([each.max(axis=0) for each in simplified], axis=0).astype(np.float64)


@dataclass(frozen=True)
class _State:
    """A :class:`StrokeRaster` after one stroke: the raw box (low, high), its longer side (``extent``),
    the simplified strokes ((n, 2) int64 each) and the canvas they are drawn on (:func:`_blank`)."""

    low: np.ndarray
    high: np.ndarray
    extent: float
    simplified: list[np.ndarray]
    canvas: np.ndarray


class StrokeRaster:
    """The bitmap of a raw drawing kept up to date stroke by stroke (the doodle pad's renderer).

    Equal to ``rasterize(strokes, fmt="raw")`` after every change, at a fraction of the cost:
    a new stroke that leaves the drawing's bounding box (and so :func:`normalize_raw`'s
    alignment and scale) unchanged is simplified and drawn alone over the kept canvas; a
    stroke that grows the box re-simplifies every stroke. Every state is kept, so
    :meth:`pop` (Undo) restores the previous bitmap without drawing anything.

    Args:
        size: bitmap side in pixels.
        backend: as in :func:`rasterize`.

    Attributes:
        strokes: the raw strokes, each (n, 2) float64 (x, y).
    """

    def __init__(self, size: int = 28, *, backend: str | None = None) -> None:
        self.size = _check_size(size)
        self.backend = _backend(backend)
        self.strokes: list[np.ndarray] = []
        self._states: list[_State] = []

    def push(self, stroke: Sequence) -> np.ndarray:
        """Add one stroke ``[xs, ys]`` or ``[xs, ys, ts]`` in raw units; returns the new bitmap.

        Raises:
            ValueError: the stroke is malformed or empty.
        """
        points = _points(stroke, len(self.strokes))
        if not points:
            raise ValueError(f"stroke {len(self.strokes)} has no point; {_SHAPE_HINT}")
        new = points[0]
        last = self._states[-1] if self._states else None
        low = new.min(axis=0) if last is None else np.minimum(last.low, new.min(axis=0))
        high = new.max(axis=0) if last is None else np.maximum(last.high, new.max(axis=0))
        shift, extent = _box_transform(low, high)
        if last is not None and np.array_equal(shift, last.low) and extent == last.extent:
            added = _simplify_stroke(new, shift, extent)
            simplified = [*last.simplified, added]
            if (added.max(axis=0) <= _highest(last.simplified)).all():  # same offset: draw the new stroke alone
                canvas = _draw(last.canvas, [added.astype(np.float64)], _offset(_highest(last.simplified)))
            else:
                canvas = self._render(simplified)
        else:
            simplified = [_simplify_stroke(each, shift, extent) for each in [*self.strokes, new]]
            canvas = self._render(simplified)
        self.strokes.append(new)
        self._states.append(_State(low, high, extent, simplified, canvas))
        return self.bitmap

    def _render(self, simplified: list[np.ndarray]) -> np.ndarray:
        """A fresh canvas with every simplified stroke drawn, as :func:`rasterize` draws them."""
        strokes = [each.astype(np.float64) for each in simplified]
        return _draw(_blank(self.size, self.backend), strokes, _offset(_highest(simplified)))

    def pop(self) -> bool:
        """Remove the last stroke (the previous bitmap comes back as it was); False when empty."""
        if not self.strokes:
            return False
        self.strokes.pop()
        self._states.pop()
        return True

    def clear(self) -> None:
        """Remove every stroke."""
        self.strokes.clear()
        self._states.clear()

    @property
    def bitmap(self) -> np.ndarray:
        """(size, size) uint8, ink 255 on paper 0: ``rasterize(strokes, fmt="raw")``."""
        if not self._states:
            return np.zeros((self.size, self.size), dtype=np.uint8)
        return _to_bitmap(self._states[-1].canvas)

    @property
    def simplified(self) -> list[list[list[int]]]:
        """The strokes as :func:`normalize_raw` gives them."""
        if not self._states:
            return []
        return [[xy[:, 0].tolist(), xy[:, 1].tolist()] for xy in self._states[-1].simplified]


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
