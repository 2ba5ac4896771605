"""Figures used by the notebooks and reports, one section per concern.

- doodles: bitmaps (:func:`show_bitmaps`, :func:`mosaic`, :func:`category_grid`), strokes
  (:func:`draw_strokes`, :func:`drawing_formats`, :func:`stroke_frames`);
- semantics: label similarities (:func:`similarity_clustermap`, :func:`similarity_heatmap`,
  :func:`similarity_heatmaps`, :func:`pair_scatter`);
- training: :func:`training_curves`, :func:`confusion_heatmap`;
- retrieval: :func:`map_vs_bits`, :func:`query_gallery`, :func:`answer_gallery`;
- maps: :func:`embedding_maps` (2-D projections side by side, aligned to a label map by
  :func:`align_map`, an orthogonal Procrustes fit of :func:`class_centres`).

Classes are coloured by semantic family (:data:`doodlekit.categories.FAMILIES`) with one palette,
:data:`FAMILY_COLOURS`, so "animals" has the same colour in every notebook; training variants
have fixed names and colours (:data:`VARIANT_NAMES`, :data:`VARIANT_COLOURS`); :func:`category_colour`
gives a class its colour.

Every helper draws with matplotlib's object API and returns the figure (or seaborn grid) it
made, so a notebook cell can keep, tweak or save it; helpers that take ``ax`` draw into it.
Figures are small (``DPI``) so that notebooks committed with outputs stay small.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import ScalarFormatter
from scipy.linalg import orthogonal_procrustes

from doodlekit.categories import FAMILIES, OTHER_FAMILY, family

#: Resolution of every figure made here (dots per inch).
DPI = 80
#: Colour map of bitmaps: ink (255) dark on white paper (0).
INK = "gray_r"

#: Colour of each semantic family of :data:`doodlekit.categories.FAMILIES` (and of unlisted
#: categories, :data:`~doodlekit.categories.OTHER_FAMILY`), the same in every figure.
FAMILY_COLOURS: dict[str, str] = {
    "animals": "tab:blue", "vehicles": "tab:red", "fruit": "tab:orange", "sky": "tab:purple",
    "shapes": "tab:cyan", "plants": "tab:green", "things": "tab:brown", "faces": "tab:pink",
    OTHER_FAMILY: "tab:gray",
}
#: Training variant -> how legends name it.
VARIANT_NAMES: dict[str, str] = {"ce": "CE", "fixed_margin": "fixed margin", "adaptive_margin": "adaptive margin"}
#: Training variant -> its colour in every figure (other run names take the default colour cycle).
VARIANT_COLOURS: dict[str, str] = {"ce": "tab:gray", "fixed_margin": "tab:blue", "adaptive_margin": "tab:orange"}
#: Record entry of a training history -> panel title (others: ``train_``/``val_`` spelt out).
METRIC_TITLES: dict[str, str] = {
    "train_total": "training loss (total)", "train_ce": "training cross-entropy",
    "train_semantic": "training semantic loss", "val_total": "validation loss (total)",
    "val_ce": "validation cross-entropy", "val_semantic": "validation semantic loss",
    "val_top1": "validation top-1 accuracy", "val_top5": "validation top-5 accuracy",
    "val_cos_true": "validation cos(z, v_y)", "val_cos_other": "validation max cos(z, v_k), k \u2260 y",
    "lr": "learning rate", "train_seconds": "training time (s)",
}
# Lighter (> 0) or darker (< 0) shades of a family's colour for its 1st, 2nd, ... member.
_SHADES = (0.0, -0.35, 0.4, -0.18, 0.22, -0.45, 0.5, -0.08, 0.3, -0.27)

_Drawing = Sequence[Sequence[Sequence[float]]]


def _figure(nrows: int, ncols: int, *, width: float, height: float, **kwargs: Any) -> tuple[Figure, np.ndarray]:
    """A figure of nrows x ncols axes, returned as a 2-D array of axes."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), dpi=DPI, squeeze=False, **kwargs)
    return fig, axes


def _as_images(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) view of bitmaps given as (N, 28, 28) or (N, 784); a single (28, 28) becomes (1, 28, 28)."""
    images = np.asarray(images)
    if images.ndim == 2 and images.shape[1] == 28 * 28:
        return images.reshape(-1, 28, 28)
    if images.ndim == 2:
        return images[None]
    if images.ndim != 3:
        raise ValueError(f"bitmaps must be (N, 28, 28), (N, 784) or (28, 28), got shape {images.shape}")
    return images


def _percentile_rank(values: np.ndarray) -> np.ndarray:
    """(n,) ranks of ``values`` scaled to [0, 1] (ties by position)."""
    return np.argsort(np.argsort(values, kind="stable"), kind="stable") / max(1, len(values) - 1)


def _blank(ax: Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)



# --- palette ------------------------------------------------------------------------------


def category_colour(name: str) -> tuple[float, float, float]:
    """RGB of a category: its family's colour (:data:`FAMILY_COLOURS`), a shade lighter or darker
    per member of the family so that classes of one family stay apart. The same in every call."""
    fam = family(name)
    base = np.array(to_rgb(FAMILY_COLOURS[fam]))
    members = FAMILIES.get(fam, ())
    shade = _SHADES[members.index(name) % len(_SHADES)] if name in members else 0.0
    target = np.ones(3) if shade > 0 else np.zeros(3)
    return tuple(float(v) for v in base + abs(shade) * (target - base))


def _family_handles(names: Sequence[str]) -> list[Patch]:
    """Legend patches of the families of ``names``, in :data:`FAMILY_COLOURS` order."""
    present = {family(name) for name in names}
    return [Patch(color=colour, label=fam) for fam, colour in FAMILY_COLOURS.items() if fam in present]


def _variant_style(name: str, i: int) -> tuple[str, Any]:
    """(legend name, colour) of the ``i``-th run called ``name``."""
    return VARIANT_NAMES.get(name, name), VARIANT_COLOURS.get(name, f"C{i % 10}")


def _metric_title(metric: str) -> str:
    """Readable title of a history entry: :data:`METRIC_TITLES`, else ``train_x`` -> ``training x``."""
    if metric in METRIC_TITLES:
        return METRIC_TITLES[metric]
    for prefix, word in (("train_", "training "), ("val_", "validation ")):
        if metric.startswith(prefix):
            return word + metric[len(prefix):].replace("_", " ")
    return metric.replace("_", " ")


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
        images = list(_as_images(images))
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    title_space = 0.2 if titles is not None else 0.0
    height = (size + title_space) * nrows + (0.35 if suptitle else 0)
    fig, axes = _figure(nrows, ncols, width=size * ncols, height=height)
    for i, ax in enumerate(axes.flat):
        _blank(ax)
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
    images = _as_images(images)
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
        images = _as_images(images_by_category[name])[:per_row]
        tiles[row * per_row : row * per_row + len(images)] = images
    fig, axes = _figure(1, 1, width=size * per_row + 1.3, height=size * len(names) + 0.1)
    ax = axes[0, 0]
    ax.imshow(mosaic(tiles, per_row), cmap=INK, vmin=0, vmax=255, interpolation="nearest")
    _blank(ax)
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
        ax = _figure(1, 1, width=3, height=3)[1][0, 0]
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
    _blank(ax)
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def drawing_formats(raw: _Drawing, simplified: _Drawing, rasterized: np.ndarray, bitmap: np.ndarray | None = None,
                    *, size: float = 2.4) -> Figure:
    """One drawing in each format, left to right: raw strokes, simplified strokes, its 28x28 raster.

    Args:
        raw: the raw strokes ``[xs, ys, ts]`` (canvas pixels).
        simplified: the same drawing's simplified strokes ``[xs, ys]`` (0-255 box).
        rasterized: (28, 28) uint8 bitmap made from the strokes (e.g. :func:`doodlekit.raster.rasterize`).
        bitmap: optionally a (28, 28) dataset bitmap of the same category, for comparison.
        size: inches per panel.

    Returns:
        The figure: 3 panels, or 4 with ``bitmap``.
    """
    n_points = (sum(len(s[0]) for s in raw), sum(len(s[0]) for s in simplified))
    fig, axes = _figure(1, 3 + (bitmap is not None), width=size * (3 + (bitmap is not None)), height=size + 0.3)
    draw_strokes(raw, axes[0, 0], title=f"raw: {n_points[0]} points", show_points=True)
    draw_strokes(simplified, axes[0, 1], title=f"simplified: {n_points[1]} points", show_points=True)
    panels = [("rasterized 28x28", rasterized)] + ([("dataset bitmap", bitmap)] if bitmap is not None else [])
    for ax, (title, image) in zip(axes[0, 2:], panels):
        ax.imshow(_as_images(image)[0], cmap=INK, vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        _blank(ax)
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
    fig, axes = _figure(1, n_frames, width=size * n_frames, height=size + 0.3)
    for i, ax in enumerate(axes[0]):
        upto = end * (i + 1) / n_frames
        label = f"{upto / 1000:.1f} s" if timed else f"{int(upto)} points"
        draw_strokes(drawing, ax, title=label, upto=upto)
    fig.tight_layout(pad=0.3)
    return fig


# --- semantics ----------------------------------------------------------------------------


def similarity_heatmap(
    matrix: np.ndarray,
    names: Sequence[str],
    ax: Axes | None = None,
    *,
    title: str | None = None,
    annot: bool = True,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
) -> Axes:
    """A (C, C) matrix (cosines, margins) as an annotated heatmap with names on both axes.

    Returns:
        The axes (a new figure about 0.5 inch per name when ``ax`` is None).
    """
    matrix = np.asarray(matrix)
    if matrix.shape != (len(names), len(names)):
        raise ValueError(f"matrix must be ({len(names)}, {len(names)}) for {len(names)} names, got {matrix.shape}")
    if ax is None:
        side = 1.5 + 0.5 * len(names)
        ax = _figure(1, 1, width=side + 1, height=side)[1][0, 0]
    sns.heatmap(matrix, ax=ax, xticklabels=names, yticklabels=names, annot=annot, fmt=".2f", cmap=cmap,
                vmin=vmin, vmax=vmax, square=True, annot_kws={"fontsize": 7}, cbar_kws={"shrink": 0.7})
    ax.tick_params(labelsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def similarity_heatmaps(
    matrices: Mapping[str, np.ndarray],
    names: Sequence[str],
    *,
    size: float = 3.3,
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "viridis",
    cbar_label: str = "cosine",
) -> Figure:
    """Several (C, C) matrices over the same names side by side, on one colour scale, no annotations.

    All panels have the same size; one colour bar, labelled ``cbar_label``, stands beside them.

    Args:
        matrices: panel title -> (C, C) matrix (e.g. centroid cosines of two models and label cosines).
        names: the C names, in the matrices' order (shown on the first panel's y axis and every x axis).
        vmin, vmax: the shared colour scale (default: the range of all matrices).
        cbar_label: what the colours are.

    Returns:
        The figure: 1 x len(matrices) heatmaps, then the colour bar's axes.
    """
    for title, matrix in matrices.items():
        if np.shape(matrix) != (len(names), len(names)):
            raise ValueError(f"{title!r} must be ({len(names)}, {len(names)}) for the names, got {np.shape(matrix)}")
    values = [np.asarray(matrix, dtype=float) for matrix in matrices.values()]
    vmin = min(float(v.min()) for v in values) if vmin is None and values else vmin
    vmax = max(float(v.max()) for v in values) if vmax is None and values else vmax
    n = len(matrices)
    fig, axes = _figure(1, n + 1, width=size * n + 1.4, height=size + 0.85,
                        gridspec_kw={"width_ratios": [1] * n + [0.05]})
    for ax, (title, matrix) in zip(axes[0], zip(matrices, values)):
        sns.heatmap(matrix, ax=ax, xticklabels=names, yticklabels=names if ax is axes[0, 0] else False, cmap=cmap,
                    vmin=vmin, vmax=vmax, square=True, cbar=False)
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7, length=2)
    cax = axes[0, -1]
    colourbar = fig.colorbar(axes[0, 0].collections[0], cax=cax)
    colourbar.set_label(cbar_label, fontsize=8)
    cax.tick_params(labelsize=7)
    fig.tight_layout(pad=0.3, w_pad=0.4)
    first = axes[0, 0].get_position()  # square heatmaps are shorter than their cells: match the bar to them
    box = cax.get_position()
    cax.set_position((box.x0, first.y0, box.width, first.height))
    return fig


def similarity_clustermap(
    matrix: np.ndarray,
    names: Sequence[str],
    *,
    size: float = 7.0,
    cmap: str = "vlag",
    title: str = "cosine similarity of label vectors, clustered",
    cbar_label: str = "cosine of label vectors",
    families: bool = True,
) -> sns.matrix.ClusterGrid:
    """A (C, C) cosine matrix with rows and columns reordered by hierarchical clustering.

    Semantic families (animals, vehicles, fruit) show as blocks on the diagonal; with
    ``families``, a strip left of the rows gives each name's family colour (:data:`FAMILY_COLOURS`)
    and a legend names them, so the blocks can be checked against the families.

    Args:
        matrix: (C, C) cosines in [-1, 1]; names: the C names in the matrix's order.
        size: inches per side.
        title: over the column dendrogram; cbar_label: the colour bar's label.

    Returns:
        The seaborn ``ClusterGrid`` (its ``.figure``, ``.ax_heatmap``, ``.dendrogram_row.reordered_ind``).
    """
    matrix = np.asarray(matrix)
    if matrix.shape != (len(names), len(names)):
        raise ValueError(f"matrix must be ({len(names)}, {len(names)}) for {len(names)} names, got {matrix.shape}")
    row_colours = [FAMILY_COLOURS[family(name)] for name in names] if families else None
    grid = sns.clustermap(matrix, xticklabels=names, yticklabels=names, cmap=cmap, center=0, vmin=-1, vmax=1,
                          method="average", metric="cosine", figsize=(size, size), dendrogram_ratio=0.12,
                          colors_ratio=0.02, row_colors=row_colours, cbar_pos=(0.02, 0.9, 0.1, 0.02),
                          cbar_kws={"orientation": "horizontal", "ticks": [-1, 0, 1]})
    fig = grid.figure
    fig.set_dpi(DPI)
    grid.ax_heatmap.tick_params(labelsize=max(4, min(9, int(300 / len(names)))))
    if families:
        grid.ax_row_colors.set_xticks([])
    # room at the top for the title and the family legend; the colour bar goes in the free top-left corner
    top = 1 - 0.6 / size
    grid.ax_cbar.set_axis_off()
    fig.tight_layout(rect=(0, 0, 1, top), h_pad=0.02, w_pad=0.02)
    grid.ax_cbar.set_axis_on()
    corner_x, corner_y = grid.ax_row_dendrogram.get_position(), grid.ax_col_dendrogram.get_position()
    grid.ax_cbar.set_position((corner_x.x0 + 0.1 * corner_x.width, corner_y.y0 + 0.2 * corner_y.height,
                               0.8 * corner_x.width, 0.15 * corner_y.height))
    grid.ax_cbar.set_title(cbar_label.replace(" of ", " of\n", 1), fontsize=8, pad=3)
    grid.ax_cbar.tick_params(labelsize=7, length=2, pad=1)
    fig.suptitle(title, fontsize=11, y=1 - 0.08 / size)
    if families:
        fig.legend(handles=_family_handles(names), loc="upper center", bbox_to_anchor=(0.5, 1 - 0.3 / size),
                   ncol=len(FAMILY_COLOURS), fontsize=8, frameon=False, handlelength=1, columnspacing=1.0,
                   handletextpad=0.4)
    return grid


def pair_scatter(
    first: np.ndarray,
    second: np.ndarray,
    names: Sequence[str],
    *,
    labels: tuple[str, str] = ("first", "second"),
    annotate: int = 6,
    ax: Axes | None = None,
) -> Axes:
    """Compare two (C, C) similarity matrices pair by pair: one dot per pair of distinct names.

    The ``annotate`` pairs on which the two disagree most (largest |first - second| after
    ranking both) are labelled ``"a / b"``.

    Args:
        first, second: (C, C) symmetric matrices over the same ``names``, e.g. cosines of
            two sets of label vectors.
        labels: axis labels (what each matrix is).

    Returns:
        The axes (a new 4 x 4 inch figure when ``ax`` is None).
    """
    first, second = np.asarray(first), np.asarray(second)
    if first.shape != second.shape or first.shape != (len(names), len(names)):
        raise ValueError(f"both matrices must be ({len(names)}, {len(names)}), got {first.shape} and {second.shape}")
    if ax is None:
        ax = _figure(1, 1, width=4.2, height=4)[1][0, 0]
    rows, cols = np.triu_indices(len(names), k=1)
    x, y = first[rows, cols], second[rows, cols]
    ax.scatter(x, y, s=8, alpha=0.5, linewidths=0)
    disagreement = np.abs(_percentile_rank(x) - _percentile_rank(y))
    for i in np.argsort(-disagreement, kind="stable")[:annotate]:
        ax.annotate(f"{names[rows[i]]} / {names[cols[i]]}", (x[i], y[i]), fontsize=7, xytext=(3, 3),
                    textcoords="offset points")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    return ax


# --- training -----------------------------------------------------------------------------


def training_curves(
    histories: Mapping[str, Any],
    metrics: Sequence[str] = ("train_total", "val_top1", "val_cos_true"),
    *,
    size: float = 3.0,
    titles: Mapping[str, str] | None = None,
) -> Figure:
    """Per-epoch curves of several runs, one panel per metric, one line per run.

    Panels are titled in words (:data:`METRIC_TITLES`: ``"train_ce"`` -> "training
    cross-entropy"); runs named like variants get the kit's names and colours
    (:data:`VARIANT_NAMES`, :data:`VARIANT_COLOURS`: ``"adaptive_margin"`` -> "adaptive margin").

    Args:
        histories: run name -> its per-epoch records: a :class:`doodlekit.training.History`, a
            pandas DataFrame indexed by epoch, or a list of dicts with an ``"epoch"`` key.
        metrics: record entries to plot (e.g. ``"train_ce"``, ``"val_top1"``, ``"val_cos_other"``);
            a run without an entry is left out of that panel.
        size: inches per panel.
        titles: metric -> panel title, for metrics :data:`METRIC_TITLES` does not name as wanted.

    Returns:
        The figure: 1 x len(metrics) axes, epochs on x, one legend of the runs under the panels.
    """
    fig, axes = _figure(1, len(metrics), width=size * len(metrics) + 0.4, height=size * 0.85 + 0.35)
    handles: dict[str, Line2D] = {}
    for i, (name, history) in enumerate(histories.items()):
        records = history.records if hasattr(history, "records") else history
        if hasattr(records, "reset_index"):  # a DataFrame indexed by epoch
            records = records.reset_index().to_dict("records")
        label, colour = _variant_style(name, i)
        epochs = [record["epoch"] for record in records]
        for ax, metric in zip(axes[0], metrics):
            if all(metric in record for record in records):
                (handles[label],) = ax.plot(epochs, [record[metric] for record in records], marker="o", ms=3,
                                            color=colour, label=label)
    for ax, metric in zip(axes[0], metrics):
        ax.set_title((titles or {}).get(metric, _metric_title(metric)), fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout(pad=0.3, rect=(0, 0.3 / fig.get_figheight(), 1, 1))
    fig.legend(handles=list(handles.values()), loc="lower center", ncol=max(1, len(handles)), fontsize=8,
               frameon=False)
    return fig


def confusion_heatmap(
    confusion: np.ndarray,
    names: Sequence[str],
    ax: Axes | None = None,
    *,
    normalize: bool = True,
    title: str | None = None,
) -> Axes:
    """A (C, C) confusion matrix (rows = true class, columns = predicted class) as a heatmap.

    Args:
        confusion: (C, C) counts.
        names: the C class names, in label order.
        normalize: show each row as fractions of its true class (the diagonal is recall).

    Returns:
        The axes (a new figure about 0.3 inch per class when ``ax`` is None).
    """
    confusion = np.asarray(confusion, dtype=float)
    if confusion.shape != (len(names), len(names)):
        raise ValueError(f"confusion must be ({len(names)}, {len(names)}) for the names, got {confusion.shape}")
    if normalize:
        confusion = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    if ax is None:
        side = 1.5 + 0.28 * len(names)
        ax = _figure(1, 1, width=side + 1, height=side)[1][0, 0]
    sns.heatmap(confusion, ax=ax, xticklabels=names, yticklabels=names, cmap="Blues", square=True,
                vmin=0, vmax=1 if normalize else None, cbar_kws={"shrink": 0.6})
    ax.set_xlabel("predicted", fontsize=9)
    ax.set_ylabel("true", fontsize=9)
    ax.tick_params(labelsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


# --- retrieval ----------------------------------------------------------------------------


def map_vs_bits(
    reports: Mapping[str, Any], *, metric: str = "map", size: float = 3.6, from_zero: bool = False
) -> Figure:
    """A retrieval metric against code length, one line per model, float cosine as dashed lines.

    The y axis is zoomed on the data unless ``from_zero``; a zoomed axis says so in its label
    ("axis starts at 0.60") and has a break mark (two slashes) at its foot.

    Args:
        reports: model name -> :class:`doodlekit.metrics.RetrievalReport`; variant names
            (``"adaptive_margin"``) get the kit's legend names and colours (:data:`VARIANT_NAMES`).
        metric: a :class:`~doodlekit.metrics.RetrievalScores` field: ``"map"``, ``"precision"``,
            ``"semantic_precision"``, ``"miss_similarity"`` ...
        from_zero: start the y axis at 0 (the absolute picture) instead of zooming on the data.

    Returns:
        The figure: one axes, bits on a log2 x axis, the legend to its right.
    """
    fig, axes = _figure(1, 1, width=size + 1.9, height=size * 0.8)
    ax = axes[0, 0]
    for i, (name, report) in enumerate(reports.items()):
        label, colour = _variant_style(name, i)
        bits = sorted(report.hashed)
        ax.plot(bits, [getattr(report.hashed[b], metric) for b in bits], marker="o", color=colour,
                label=f"{label}, {report.hasher.upper()} codes")
        ax.axhline(getattr(report.cosine, metric), color=colour, ls="--", lw=1, label=f"{label}, float cosine")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted({b for report in reports.values() for b in report.hashed}))
    ax.get_xaxis().set_major_formatter(ScalarFormatter())
    ax.set_xlabel("code length (bits)", fontsize=9)
    k = next(iter(reports.values())).k if reports else None
    names = {"map": "mAP", "precision": "precision", "semantic_precision": "semantic precision"}
    ylabel = f"{names[metric]}@{k}" if metric in names else metric.replace("_", " ")
    if from_zero:
        ax.set_ylim(bottom=0)
    else:
        bottom = ax.get_ylim()[0]
        if bottom > 0:
            ylabel += f"  (axis starts at {bottom:.2f})"
            _break_mark(ax)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    fig.tight_layout(pad=0.3)
    return fig


def _break_mark(ax: Axes) -> None:
    """Two short slashes across the foot of the y axis: the axis does not start at 0."""
    for dy in (0.0, 0.025):
        ax.plot([-0.025, 0.025], [0.01 + dy, 0.04 + dy], transform=ax.transAxes, color="k", lw=1, clip_on=False)


def query_gallery(
    queries: np.ndarray,
    results: np.ndarray,
    *,
    query_titles: Sequence[str] | None = None,
    result_titles: Sequence[Sequence[str]] | None = None,
    correct: np.ndarray | None = None,
    size: float = 0.9,
) -> Figure:
    """One row per query: the query doodle, a gap, then its ranked results.

    Args:
        queries: (Q, 28, 28) or (Q, 784) bitmaps.
        results: (Q, k, 28, 28) or (Q, k, 784) bitmaps of each query's top k, best first.
        query_titles: Q titles (e.g. the query's label).
        result_titles: Q lists of k titles (e.g. the results' labels).
        correct: (Q, k) bool; results with the query's label get a green frame, others red.
        size: inches per bitmap.

    Returns:
        The figure: Q x (k + 1) axes.
    """
    queries = _as_images(queries)
    results = np.asarray(results)
    n_queries, k = results.shape[:2]
    results = results.reshape(n_queries, k, 28, 28)
    fig, axes = _figure(n_queries, k + 1, width=size * (k + 1) + 0.3, height=(size + 0.2) * n_queries,
                        gridspec_kw={"width_ratios": [1.3] + [1] * k})
    for q in range(n_queries):
        ax = axes[q, 0]
        ax.imshow(queries[q], cmap=INK, vmin=0, vmax=255, interpolation="nearest")
        _blank(ax)
        ax.set_title(f"query: {query_titles[q]}" if query_titles is not None else "query", fontsize=8, weight="bold")
        for j in range(k):
            ax = axes[q, j + 1]
            ax.imshow(results[q, j], cmap=INK, vmin=0, vmax=255, interpolation="nearest")
            _blank(ax)
            if result_titles is not None:
                ax.set_title(result_titles[q][j], fontsize=7)
            if correct is not None:
                for spine in ax.spines.values():
                    spine.set_visible(True)
                    spine.set_color("tab:green" if correct[q, j] else "tab:red")
                    spine.set_linewidth(2)
    fig.tight_layout(pad=0.2)
    return fig


def answer_gallery(
    queries: np.ndarray,
    answers: Sequence[Any],
    query_labels: Sequence[str] | None = None,
    *,
    size: float = 0.9,
) -> Figure:
    """:func:`query_gallery` of :class:`doodlekit.search.Answer` objects, one row per query.

    Results are titled ``"label distance"`` (Hamming bits); with ``query_labels``, a result
    is framed green when its label is the query's and red otherwise.

    Args:
        queries: (Q, 28, 28) or (Q, 784) query bitmaps.
        answers: Q answers of ``DoodleSearch.query`` (all with the same k).
        query_labels: the queries' true labels, or None (unknown, no frames).
    """
    results = np.stack([answer.thumbnails for answer in answers])
    titles = [[f"{label} {int(d)}" for label, d in zip(a.neighbor_labels, a.neighbor_distances)] for a in answers]
    correct = None
    if query_labels is not None:
        correct = np.array([[label == truth for label in a.neighbor_labels] for a, truth in zip(answers, query_labels)])
    return query_gallery(queries, results, query_titles=query_labels, result_titles=titles, correct=correct, size=size)


# --- maps ---------------------------------------------------------------------------------


def class_centres(coords: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The classes present and their centres: (K,) labels and (K, 2) per-class medians of ``coords`` (N, 2).

    Medians rather than means, so that a few stray points of a UMAP island do not move its centre.
    """
    coords, labels = np.asarray(coords, dtype=float), np.asarray(labels)
    classes = np.unique(labels)
    return classes, np.array([np.median(coords[labels == c], axis=0) for c in classes]).reshape(-1, 2)


def align_map(
    coords: np.ndarray, labels: np.ndarray, reference: np.ndarray, reference_labels: np.ndarray
) -> np.ndarray:
    """Rotate, reflect, scale and shift a 2-D map so that its class centres fall near a reference map's.

    A 2-D map (UMAP, MDS) is only defined up to rotation, reflection and scale, so two maps of
    the same classes can look unrelated. This solves the orthogonal Procrustes problem on the
    class centres (:func:`class_centres`) of the classes both maps have: with ``A`` and ``B`` the
    centred centres of the map and of the reference, each divided by its Frobenius norm,
    ``R = argmin ||A R - B||`` over orthogonal 2 x 2 matrices (rotations and reflections, by SVD:
    :func:`scipy.linalg.orthogonal_procrustes`); every point then moves as
    ``x -> (x - mean_A) / |A| @ R * |B| + mean_B``. Distances within the map keep their ratios:
    nothing is bent, only turned, mirrored and scaled. Deterministic.

    Args:
        coords: (N, 2) map; labels: (N,) its classes.
        reference: (M, 2) map to align to (e.g. a label map, one point per class); reference_labels: (M,).

    Returns:
        (N, 2) float64 aligned coordinates; ``coords`` unchanged when the maps share fewer than 3 classes.
    """
    coords = np.asarray(coords, dtype=float)
    classes, centres = class_centres(coords, labels)
    ref_classes, ref_centres = class_centres(reference, reference_labels)
    common, mine, theirs = np.intersect1d(classes, ref_classes, return_indices=True)
    if len(common) < 3:
        return coords
    a, b = centres[mine], ref_centres[theirs]
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    scale_a, scale_b = np.linalg.norm(a - mean_a), np.linalg.norm(b - mean_b)
    if scale_a == 0 or scale_b == 0:
        return coords
    rotation, _ = orthogonal_procrustes((a - mean_a) / scale_a, (b - mean_b) / scale_b)
    return (coords - mean_a) / scale_a @ rotation * scale_b + mean_b


def _one_point_per_class(labels: np.ndarray) -> bool:
    return len(labels) >= 3 and len(np.unique(labels)) == len(labels)


def _spread_labels(
    ax: Axes, texts: Sequence[Text], anchors: np.ndarray, *, obstacles: np.ndarray | None = None, steps: int = 200
) -> None:
    """Move overlapping texts apart (deterministically, in screen space) and keep them inside the axes.

    Each text is nudged away from the texts it overlaps, and out of the ``obstacles`` (data
    coordinates (m, 2) of markers that stay visible, about 10 pixels wide); one moved far from its
    anchor (data coordinates (n, 2)) gets a thin leader line back to it. Call once the layout is final.
    """
    if not texts:
        return
    boxes = [text.get_window_extent() for text in texts]
    size = np.array([[box.width + 4, box.height + 2] for box in boxes])  # a few pixels of air
    centre = np.array([[box.x0 + box.width / 2, box.y0 + box.height / 2] for box in boxes])
    start = centre.copy()
    fixed = ax.transData.transform(obstacles) if obstacles is not None and len(obstacles) else np.empty((0, 2))
    fixed_size = np.full((len(fixed), 2), 10.0 * ax.figure.dpi / 100)
    frame = ax.get_window_extent()
    half = size / 2
    for _ in range(steps):
        moved = False
        for i in range(len(texts)):
            gap = np.abs(centre[i] - centre) - (size[i] + size) / 2  # < 0 in both coordinates: overlap
            gap[i] = 0
            for j in np.flatnonzero((gap < 0).all(axis=1)):
                # push apart along the direction of smaller overlap, half each; ties broken by index
                axis = int(-gap[j, 1] < -gap[j, 0])
                direction = np.sign(centre[i, axis] - centre[j, axis]) or (1.0 if i < j else -1.0)
                step = (-gap[j, axis] / 2 + 0.5) * direction
                centre[i, axis] += step
                centre[j, axis] -= step
                moved = True
            gap = np.abs(centre[i] - fixed) - (size[i] + fixed_size) / 2
            for j in np.flatnonzero((gap < 0).all(axis=1)):
                axis = int(-gap[j, 1] < -gap[j, 0])
                centre[i, axis] += (-gap[j, axis] + 0.5) * (np.sign(centre[i, axis] - fixed[j, axis]) or 1.0)
                moved = True
        centre[:, 0] = np.clip(centre[:, 0], frame.x0 + half[:, 0], frame.x1 - half[:, 0])
        centre[:, 1] = np.clip(centre[:, 1], frame.y0 + half[:, 1], frame.y1 - half[:, 1])
        if not moved:
            break
    to_data = ax.transData.inverted()
    for text, old, new, anchor in zip(texts, start, centre, anchors):
        x, y = text.get_position()
        shift = to_data.transform(new) - to_data.transform(old)
        text.set_position((x + shift[0], y + shift[1]))
        if np.linalg.norm(new - old) > 12:
            target = to_data.transform(new)
            ax.plot([anchor[0], target[0]], [anchor[1], target[1]], color="0.4", lw=0.6, zorder=2.5)


def embedding_maps(
    maps: Mapping[str, tuple[np.ndarray, np.ndarray]],
    names: Sequence[str],
    *,
    size: float = 3.8,
    point_size: float = 12.0,
    label_points: bool = True,
    align: bool = True,
    reference: str | None = None,
    legend: bool = True,
) -> Figure:
    """2-D maps (e.g. UMAP) side by side, points coloured by semantic family, each class named once.

    Colours: each class has its family's colour (:data:`FAMILY_COLOURS`), a shade lighter or darker
    per class (:func:`category_colour`), the same in every figure; a legend under the panels names
    the families. Each class's name sits once, at the median of its points (beside the point for
    a map with one point per class), outlined in white and moved apart from the other names where
    they would overlap (with a thin line back to its place when moved far).

    Alignment: with ``align``, every other panel is rotated, reflected and scaled onto the
    ``reference`` panel by an orthogonal Procrustes fit of the class centres (:func:`align_map`),
    so that, e.g., "animals at the top left" means the same in every panel. Panels keep equal
    x and y scales. Deterministic: no randomness here (UMAP itself is computed by the caller).

    Args:
        maps: panel title -> (coordinates (N, 2), labels (N,) ints indexing ``names``). A map of
            the label vectors themselves is one point per class: coordinates (C, 2), labels arange(C).
        names: the class names.
        size: inches per panel.
        point_size: marker area of the points (classes with one point get a larger marker).
        label_points: write each class name once, at its centre.
        align: align the panels to the reference panel.
        reference: title of the panel the others are aligned to; by default the last panel with
            one point per class (a label map), else the first panel.
        legend: the family legend under the panels.

    Returns:
        The figure: 1 x len(maps) axes.

    Raises:
        ValueError: ``reference`` is not one of the panel titles.
    """
    panels = {title: (np.asarray(coords, dtype=float), np.asarray(labels)) for title, (coords, labels) in maps.items()}
    if reference is not None and reference not in panels:
        raise ValueError(f"reference {reference!r} is not a panel; the panels are {list(panels)}")
    if reference is None:
        singles = [t for t in panels if _one_point_per_class(panels[t][1])]
        reference = singles[-1] if singles else next(iter(panels), None)
    if align and reference is not None:
        ref_coords, ref_labels = panels[reference]
        panels = {t: (c if t == reference else align_map(c, l, ref_coords, ref_labels), l)
                  for t, (c, l) in panels.items()}
    colours = np.array([category_colour(name) for name in names]).reshape(-1, 3)
    rows = -(-len(_family_handles(names)) // max(1, int(size * len(panels) / 0.95))) if legend else 0
    legend_space = 0.1 + 0.22 * rows if legend else 0.0
    fig, axes = _figure(1, len(panels), width=size * len(panels), height=size + legend_space)
    placed: list[tuple[Axes, list[Text], np.ndarray, np.ndarray | None]] = []
    for ax, (title, (coords, labels)) in zip(axes[0], panels.items()):
        single = _one_point_per_class(labels)
        ax.scatter(coords[:, 0], coords[:, 1], c=colours[labels], s=60 if single else point_size,
                   alpha=1.0 if single else 0.7, linewidths=0)
        ax.set_aspect("equal", adjustable="datalim")
        ax.margins(x=0.22 if single else 0.08, y=0.08)  # room for names right of lone points
        ax.set_title(title, fontsize=10)
        _blank(ax)
        if label_points:
            classes, centres = class_centres(coords, labels)
            span = float(np.ptp(coords, axis=0).max()) if len(coords) else 1.0
            if single:  # the name beside its point
                spots, placement = centres + [0.03 * span, 0.0], {"ha": "left", "va": "center"}
            else:  # the name just above its island: the island's upper edge, at most a little above its centre
                tops = np.array([np.quantile(coords[labels == c, 1], 0.8) for c in classes])
                lift = np.minimum(tops - centres[:, 1], 0.06 * span) + 0.01 * span
                spots, placement = centres + np.c_[np.zeros(len(classes)), lift], {"ha": "center", "va": "bottom"}
            outline = [patheffects.withStroke(linewidth=2.5, foreground="white")]
            texts = [ax.text(*spot, names[c], fontsize=8, zorder=3, path_effects=outline, **placement)
                     for c, spot in zip(classes, spots)]
            placed.append((ax, texts, centres, centres if single else None))
    if legend:
        handles = _family_handles(names)
        per_row = max(1, min(len(handles), int(fig.get_figwidth() / 0.95)))
        fig.legend(handles=handles, loc="lower center", ncol=per_row, fontsize=8, frameon=False, handlelength=1,
                   columnspacing=1.2, handletextpad=0.4)
    fig.tight_layout(pad=0.3, rect=(0, legend_space / fig.get_figheight(), 1, 1))
    for ax, texts, centres, points in placed:
        ax.apply_aspect()
        ax.set_autoscale_on(False)  # names are placed in screen space: the limits must not move any more
        _spread_labels(ax, texts, centres, obstacles=points)
    return fig
