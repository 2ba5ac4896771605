"""Figures of doodles: bitmaps, mosaics, strokes and how a drawing unfolds in time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from doodlekit.data.raster import as_bitmaps
from doodlekit.plotting.style import INK, blank, figure

_Drawing = Sequence[Sequence[Sequence[float]]]


def as_images(images: np.ndarray, what: str = "bitmaps") -> np.ndarray:
    """(N, h, w) view of images given as (N, h, w), (N, 784) rows or one (h, w), of any dtype
    (:func:`~doodlekit.data.raster.as_bitmaps`); a single image becomes (1, h, w)."""
    return as_bitmaps(images, what, single=True, size=None, dtype=None)


# --- doodles ------------------------------------------------------------------------------


def show_bitmaps(
    images: np.ndarray | Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    *,
    ncols: int = 8,
    size: float = 1.0,
    suptitle: str | None = None,
) -> Figure:
    """Bitmaps in a grid, ``ncols`` per row.

    Args:
        images: (N, 28, 28) or (N, 784) uint8, ink 255 on paper 0 (any float range works too),
            or a list of 2-D images of any sizes (each drawn in its own equal-sized panel).
        titles: N short titles (e.g. labels), or None.
        ncols: images per row.
        size: inches per image.
        suptitle: a title over the whole grid.

    Returns:
        The figure: ceil(N / ncols) x min(N, ncols) axes, one image each (spare axes hidden).
    """
    if isinstance(images, (list, tuple)):
        images = [np.asarray(image).reshape(28, 28) if np.size(image) == 784 else np.asarray(image) for image in images]
    else:
        images = list(as_images(images))
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    title_space = 0.2 if titles is not None else 0.0
    height = (size + title_space) * nrows + (0.35 if suptitle else 0)
    fig, axes = figure(nrows, ncols, width=size * ncols, height=height)
    for i, ax in enumerate(axes.flat):
        blank(ax)
        if i >= n:
            ax.set_visible(False)
            continue
        vmax = 255 if images[i].dtype == np.uint8 else None
        ax.imshow(images[i], cmap=INK, vmin=0, vmax=vmax, interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    fig.tight_layout(pad=0.2, rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()) if suptitle else None)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig


def mosaic(images: np.ndarray, ncols: int, *, gap: int = 2) -> np.ndarray:
    """Tile bitmaps into one image, ``ncols`` per row, ``gap`` paper pixels between them.

    Args:
        images: (N, h, w) or (N, 784) bitmaps.
        ncols: tiles per row.

    Returns:
        (rows * (h + gap) - gap, ncols * (w + gap) - gap) array of the input dtype, paper (0) around tiles.
    """
    images = as_images(images)
    n, h, w = images.shape
    nrows = max(1, -(-n // ncols))
    out = np.zeros((nrows * (h + gap) - gap, ncols * (w + gap) - gap), dtype=images.dtype)
    for i, image in enumerate(images):
        r, c = divmod(i, ncols)
        out[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = image
    return out


def category_grid(images_by_category: Mapping[str, np.ndarray], *, per_row: int = 8, size: float = 0.5) -> Figure:
    """One row per category: its name on the left, then its first ``per_row`` bitmaps.

    Drawn as one tiled image (:func:`mosaic`), so even 24 x 10 bitmaps make a small PNG.

    Args:
        images_by_category: name -> (n, 28, 28) or (n, 784) uint8 bitmaps; rows with fewer
            than ``per_row`` leave paper.
        per_row: bitmaps shown per category.
        size: inches per bitmap.

    Returns:
        The figure, with one axes whose y tick labels are the category names.
    """
    names = list(images_by_category)
    tiles = np.zeros((len(names) * per_row, 28, 28), dtype=np.uint8)
    for row, name in enumerate(names):
        images = as_images(images_by_category[name])[:per_row]
        tiles[row * per_row : row * per_row + len(images)] = images
    fig, axes = figure(1, 1, width=size * per_row + 1.3, height=size * len(names) + 0.1)
    ax = axes[0, 0]
    ax.imshow(mosaic(tiles, per_row), cmap=INK, vmin=0, vmax=255, interpolation="nearest")
    blank(ax)
    ax.set_yticks(np.arange(len(names)) * 30 + 13.5, names, fontsize=9)
    ax.tick_params(left=False)
    fig.tight_layout(pad=0.2)
    return fig


def draw_strokes(
    drawing: _Drawing,
    ax: Axes | None = None,
    *,
    title: str | None = None,
    upto: float | None = None,
    show_points: bool = False,
) -> Axes:
    """Draw a drawing's strokes as lines, one colour per stroke, y pointing down as on screen.

    Args:
        drawing: strokes ``[xs, ys]`` (simplified, 0-255 box) or ``[xs, ys, ts]`` (raw, canvas
            pixels, ``ts`` in ms).
        ax: where to draw; a new 3 x 3 inch figure when None.
        title: axes title.
        upto: draw only the points made up to this moment: ms for raw strokes (``ts``), the
            number of points for strokes without times.
        show_points: mark the stored points (shows how simplification thins them).

    Returns:
        The axes.
    """
    if ax is None:
        ax = figure(1, 1, width=3, height=3)[1][0, 0]
    colours = plt.get_cmap("tab10")
    seen = 0
    for i, stroke in enumerate(drawing):
        xs, ys = np.asarray(stroke[0], float), np.asarray(stroke[1], float)
        keep = np.ones(len(xs), bool)
        if upto is not None:
            keep = np.asarray(stroke[2], float) <= upto if len(stroke) > 2 else np.arange(seen, seen + len(xs)) < upto
        seen += len(xs)
        if keep.any():
            ax.plot(xs[keep], ys[keep], "-", color=colours(i % 10), lw=1.5, marker="." if show_points else None,
                    ms=3)
    points = np.concatenate([np.asarray(stroke[:2], float) for stroke in drawing], axis=1) if drawing else None
    if points is not None and points.size:
        pad = 0.05 * max(np.ptp(points[0]), np.ptp(points[1]), 1.0)
        ax.set_xlim(points[0].min() - pad, points[0].max() + pad)
        ax.set_ylim(points[1].max() + pad, points[1].min() - pad)
    ax.set_aspect("equal")
    blank(ax)
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def drawing_formats(raw: _Drawing, simplified: _Drawing, rasterized: np.ndarray, bitmap: np.ndarray | None = None,
                    *, size: float = 2.4) -> Figure:
    """One drawing in each format, left to right: raw strokes, simplified strokes, its 28x28 raster.

    Args:
        raw: the raw strokes ``[xs, ys, ts]`` (canvas pixels).
        simplified: the same drawing's simplified strokes ``[xs, ys]`` (0-255 box).
        rasterized: (28, 28) uint8 bitmap made from the strokes (e.g. :func:`doodlekit.data.raster.rasterize`).
        bitmap: optionally a (28, 28) dataset bitmap of the same category, for comparison.
        size: inches per panel.

    Returns:
        The figure: 3 panels, or 4 with ``bitmap``.
    """
    n_points = (sum(len(s[0]) for s in raw), sum(len(s[0]) for s in simplified))
    fig, axes = figure(1, 3 + (bitmap is not None), width=size * (3 + (bitmap is not None)), height=size + 0.3)
    draw_strokes(raw, axes[0, 0], title=f"raw: {n_points[0]} points", show_points=True)
    draw_strokes(simplified, axes[0, 1], title=f"simplified: {n_points[1]} points", show_points=True)
    panels = [("rasterized 28x28", rasterized)] + ([("dataset bitmap", bitmap)] if bitmap is not None else [])
    for ax, (title, image) in zip(axes[0, 2:], panels):
        ax.imshow(as_images(image)[0], cmap=INK, vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        blank(ax)
    fig.tight_layout(pad=0.3)
    return fig


def stroke_frames(drawing: _Drawing, n_frames: int = 6, *, size: float = 1.8) -> Figure:
    """A replay of a drawing in ``n_frames`` snapshots at equal steps of time (or of points).

    Raw strokes (``[xs, ys, ts]``) are cut by their timestamps, so pauses between strokes show;
    strokes without times are cut by point count.

    Returns:
        The figure: 1 x n_frames axes, the last one the whole drawing.
    """
    timed = all(len(stroke) > 2 and len(stroke[2]) for stroke in drawing)
    if timed:
        end = max(float(max(stroke[2])) for stroke in drawing)
    else:
        end = float(sum(len(stroke[0]) for stroke in drawing))
    fig, axes = figure(1, n_frames, width=size * n_frames, height=size + 0.3)
    for i, ax in enumerate(axes[0]):
        upto = end * (i + 1) / n_frames
        label = f"{upto / 1000:.1f} s" if timed else f"{int(upto)} points"
        draw_strokes(drawing, ax, title=label, upto=upto)
    fig.tight_layout(pad=0.3)
    return fig
