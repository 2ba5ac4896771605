"""Figures of label semantics: similarity heatmaps, the clustered label map, pair scatter plots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import seaborn as sns
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from doodlekit.data.categories import family
from doodlekit.plotting.style import (
    DPI,
    FAMILY_COLOURS,
    family_handles,
    figure,
    place_labels,
)


def _percentile_rank(values: np.ndarray) -> np.ndarray:
    """(n,) ranks of ``values`` scaled to [0, 1] (ties by position)."""
    return np.argsort(np.argsort(values, kind="stable"), kind="stable") / max(1, len(values) - 1)


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
        ax = figure(1, 1, width=side + 1, height=side)[1][0, 0]
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
    fig, axes = figure(1, n + 1, width=size * n + 1.4, height=size + 0.85,
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
    cmap: str = "viridis",
    title: str = "cosine similarity of label vectors, clustered",
    cbar_label: str = "cosine of label vectors",
    families: bool = True,
    vmin: float | None = None,
    vmax: float = 1.0,
) -> sns.matrix.ClusterGrid:
    """A (C, C) cosine matrix with rows and columns reordered by hierarchical clustering.

    Semantic families (animals, vehicles, fruit) show as blocks on the diagonal; with
    ``families``, a strip left of the rows gives each name's family colour (:data:`FAMILY_COLOURS`)
    and a legend names them, so the blocks can be checked against the families.

    Colours run from ``vmin`` to ``vmax``: by default from -0.2 (as notebook 05's heatmaps) or,
    when more than 1% of the pairs are below that, from the pairs' 1st percentile rounded down to
    0.1, so that the contrast among the mostly positive cosines shows. Lower values take the lowest
    colour, and the colour bar, labelled ``cbar_label``, stands right of the row names.

    Args:
        matrix: (C, C) cosines in [-1, 1]; names: the C names in the matrix's order.
        size: inches per side (the colour bar takes 0.9 more).
        title: over the column dendrogram; cbar_label: the colour bar's label.
        vmin, vmax: the colour scale.

    Returns:
        The seaborn ``ClusterGrid`` (its ``.figure``, ``.ax_heatmap``, ``.ax_cbar``, ``.dendrogram_row.reordered_ind``).
    """
    matrix = np.asarray(matrix)
    if matrix.shape != (len(names), len(names)):
        raise ValueError(f"matrix must be ({len(names)}, {len(names)}) for {len(names)} names, got {matrix.shape}")
    if vmin is None:
        pairs = matrix[np.triu_indices(len(names), k=1)]
        vmin = min(-0.2, np.floor(np.percentile(pairs, 1) * 10) / 10) if len(pairs) else -0.2
    row_colours = [FAMILY_COLOURS[family(name)] for name in names] if families else None
    bar = 0.9  # inches right of the row names for the colour bar, its ticks and its label
    grid = sns.clustermap(matrix, xticklabels=names, yticklabels=names, cmap=cmap, vmin=vmin, vmax=vmax,
                          method="average", metric="cosine", figsize=(size + bar, size), dendrogram_ratio=0.12,
                          colors_ratio=0.02, row_colors=row_colours, cbar_pos=(0.02, 0.9, 0.1, 0.02))
    fig = grid.figure
    fig.set_dpi(DPI)
    grid.ax_heatmap.tick_params(labelsize=max(4, min(9, int(300 / len(names)))))
    if families:
        grid.ax_row_colors.set_xticks([])
    # room at the top for the title and the family legend, on the right for the colour bar
    top = 1 - 0.6 / size
    grid.ax_cbar.set_axis_off()  # it sits in the corner cell of seaborn's grid until moved below
    fig.tight_layout(rect=(0, 0, 1 - bar / (size + bar), top), h_pad=0.02, w_pad=0.02)
    grid.ax_cbar.set_axis_on()
    renderer = fig.canvas.get_renderer()
    names_end = max(label.get_window_extent(renderer).x1 for label in grid.ax_heatmap.get_yticklabels())
    heatmap = grid.ax_heatmap.get_position()
    width = fig.get_figwidth()
    grid.ax_cbar.set_position((names_end / fig.bbox.width + 0.15 / width, heatmap.y0 + 0.2 * heatmap.height,
                               0.14 / width, 0.6 * heatmap.height))
    grid.ax_cbar.set_ylabel(cbar_label, fontsize=9)
    grid.ax_cbar.tick_params(labelsize=8, length=3)
    middle = heatmap.x0 + heatmap.width / 2  # title and legend centred over the heatmap
    fig.suptitle(title, fontsize=11, x=middle, y=1 - 0.08 / size)
    if families:
        fig.legend(handles=family_handles(names), loc="upper center", bbox_to_anchor=(middle, 1 - 0.3 / size),
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
    ranking both) are the outliers: their dots are ringed and labelled ``"a / b"`` (8 pt), each
    label placed clear of the dots and of the other labels, outwards from the cloud, with a thin
    leader line to its dot when it could not sit right beside it
    (:func:`~doodlekit.plotting.style.place_labels`).

    Args:
        first, second: (C, C) symmetric matrices over the same ``names``, e.g. cosines of
            two sets of label vectors.
        labels: axis labels (what each matrix is).

    Returns:
        The axes (a new 4 x 4 inch figure when ``ax`` is None); the labels are its ``texts``. Labels are
        placed in screen space: lay out a figure you pass ``ax`` of before calling.
    """
    first, second = np.asarray(first), np.asarray(second)
    if first.shape != second.shape or first.shape != (len(names), len(names)):
        raise ValueError(f"both matrices must be ({len(names)}, {len(names)}), got {first.shape} and {second.shape}")
    new = ax is None
    if ax is None:
        ax = figure(1, 1, width=4.2, height=4)[1][0, 0]
    rows, cols = np.triu_indices(len(names), k=1)
    x, y = first[rows, cols], second[rows, cols]
    ax.scatter(x, y, s=8, alpha=0.5, linewidths=0)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    disagreement = np.abs(_percentile_rank(x) - _percentile_rank(y))
    chosen = np.argsort(-disagreement, kind="stable")[:annotate]
    if not len(chosen):
        return ax
    ax.scatter(x[chosen], y[chosen], s=22, facecolors="none", edgecolors="0.2", linewidths=0.8)
    ax.margins(0.08)
    if new:
        ax.figure.tight_layout(pad=0.3)
    ax.apply_aspect()
    ax.set_autoscale_on(False)  # labels are placed in screen space: the limits must not move any more
    texts = [ax.text(x[i], y[i], f"{names[rows[i]]} / {names[cols[i]]}", fontsize=8, zorder=4,
                     path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white")]) for i in chosen]
    spots = ax.transData.transform(np.c_[x[chosen], y[chosen]])
    middle = ax.transData.transform(np.c_[np.median(x), np.median(y)])[0]
    outwards = np.degrees(np.arctan2(spots[:, 1] - middle[1], spots[:, 0] - middle[0]))
    points = np.c_[x, y]
    marker_px = np.sqrt(22) / 2 * ax.figure.dpi / 72
    for start, end in place_labels(ax, texts, [points[[i]] for i in chosen], points, marker_px=marker_px,
                                   prefer=outwards, leader_px=3.0):
        ax.plot([start[0], end[0]], [start[1], end[1]], color="0.35", lw=0.7, zorder=3.5)
    return ax
