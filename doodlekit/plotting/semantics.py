"""TODO docstring"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from doodlekit.data.categories import family
from doodlekit.plotting.style import DPI, FAMILY_COLOURS, family_handles, figure


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
        fig.legend(handles=family_handles(names), loc="upper center", bbox_to_anchor=(0.5, 1 - 0.3 / size),
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
        ax = figure(1, 1, width=4.2, height=4)[1][0, 0]
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
