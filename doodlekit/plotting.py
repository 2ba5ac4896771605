"""Figures used by the notebooks and reports, one section per concern.

- doodles: bitmaps (:func:`show_bitmaps`, :func:`mosaic`, :func:`category_grid`), strokes
  (:func:`draw_strokes`, :func:`drawing_formats`, :func:`stroke_frames`);
- semantics: label similarities (:func:`similarity_clustermap`, :func:`similarity_heatmap`,
  :func:`similarity_heatmaps`, :func:`pair_scatter`);
- training: :func:`training_curves`, :func:`confusion_heatmap`;
- retrieval: :func:`map_vs_bits`, :func:`query_gallery`, :func:`answer_gallery`;
- maps: :func:`embedding_maps` (2-D projections side by side).

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
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

#: Resolution of every figure made here (dots per inch).
DPI = 80
#: Colour map of bitmaps: ink (255) dark on white paper (0).
INK = "gray_r"

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
) -> Figure:
    """Several (C, C) matrices over the same names side by side, on one colour scale, no annotations.

    Args:
        matrices: panel title -> (C, C) matrix (e.g. centroid cosines of two models and label cosines).
        names: the C names, in the matrices' order (shown on the first panel's y axis and every x axis).

    Returns:
        The figure: 1 x len(matrices) heatmaps and one colour bar.
    """
    fig, axes = _figure(1, len(matrices), width=size * len(matrices) + 0.6, height=size + 0.4)
    for i, (ax, (title, matrix)) in enumerate(zip(axes[0], matrices.items())):
        matrix = np.asarray(matrix)
        if matrix.shape != (len(names), len(names)):
            raise ValueError(f"{title!r} must be ({len(names)}, {len(names)}) for the names, got {matrix.shape}")
        last = i == len(matrices) - 1
        sns.heatmap(matrix, ax=ax, xticklabels=names, yticklabels=names if i == 0 else False, cmap=cmap,
                    vmin=vmin, vmax=vmax, square=True, cbar=last, cbar_kws={"shrink": 0.7} if last else None)
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
    fig.tight_layout(pad=0.3)
    return fig


def similarity_clustermap(
    matrix: np.ndarray, names: Sequence[str], *, size: float = 7.0, cmap: str = "vlag"
) -> sns.matrix.ClusterGrid:
    """A (C, C) cosine matrix with rows and columns reordered by hierarchical clustering.

    Semantic families (animals, vehicles, food) show as blocks on the diagonal.

    Returns:
        The seaborn ``ClusterGrid`` (its ``.figure``, ``.ax_heatmap``, ``.dendrogram_row.reordered_ind``).
    """
    matrix = np.asarray(matrix)
    if matrix.shape != (len(names), len(names)):
        raise ValueError(f"matrix must be ({len(names)}, {len(names)}) for {len(names)} names, got {matrix.shape}")
    grid = sns.clustermap(matrix, xticklabels=names, yticklabels=names, cmap=cmap, center=0, vmin=-1, vmax=1,
                          method="average", metric="cosine", figsize=(size, size), dendrogram_ratio=0.12,
                          cbar_pos=(0.02, 0.85, 0.03, 0.12))
    grid.figure.set_dpi(DPI)
    grid.ax_heatmap.tick_params(labelsize=max(4, min(9, int(300 / len(names)))))
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
) -> Figure:
    """Per-epoch curves of several runs, one panel per metric, one line per run.

    Args:
        histories: run name -> its per-epoch records: a :class:`doodlekit.training.History`, a
            pandas DataFrame indexed by epoch, or a list of dicts with an ``"epoch"`` key.
        metrics: record entries to plot (e.g. ``"train_ce"``, ``"val_top1"``, ``"val_cos_other"``);
            a run without an entry is left out of that panel.
        size: inches per panel.

    Returns:
        The figure: 1 x len(metrics) axes, epochs on x, a legend on the first panel.
    """
    fig, axes = _figure(1, len(metrics), width=size * len(metrics) + 0.4, height=size * 0.85)
    for name, history in histories.items():
        records = history.records if hasattr(history, "records") else history
        if hasattr(records, "reset_index"):  # a DataFrame indexed by epoch
            records = records.reset_index().to_dict("records")
        epochs = [record["epoch"] for record in records]
        for ax, metric in zip(axes[0], metrics):
            if all(metric in record for record in records):
                ax.plot(epochs, [record[metric] for record in records], marker="o", ms=3, label=name)
    for ax, metric in zip(axes[0], metrics):
        ax.set_title(metric, fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout(pad=0.3)
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


def map_vs_bits(reports: Mapping[str, Any], *, metric: str = "map", size: float = 3.6) -> Figure:
    """A retrieval metric against code length, one line per model, float cosine as dashed lines.

    Args:
        reports: model name -> :class:`doodlekit.metrics.RetrievalReport`.
        metric: a :class:`~doodlekit.metrics.RetrievalScores` field: ``"map"``, ``"precision"``,
            ``"semantic_precision"``, ``"miss_similarity"`` ...

    Returns:
        The figure: one axes, bits on a log2 x axis.
    """
    fig, axes = _figure(1, 1, width=size + 0.6, height=size * 0.8)
    ax = axes[0, 0]
    for i, (name, report) in enumerate(reports.items()):
        colour = plt.get_cmap("tab10")(i)
        bits = sorted(report.hashed)
        ax.plot(bits, [getattr(report.hashed[b], metric) for b in bits], marker="o", color=colour,
                label=f"{name} ({report.hasher.upper()} codes)")
        ax.axhline(getattr(report.cosine, metric), color=colour, ls="--", lw=1, label=f"{name} (float cosine)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted({b for report in reports.values() for b in report.hashed}))
    ax.get_xaxis().set_major_formatter(ScalarFormatter())
    ax.set_xlabel("code length (bits)", fontsize=9)
    k = next(iter(reports.values())).k if reports else None
    ax.set_ylabel(f"{metric}@{k}" if metric in ("map", "precision") else metric, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout(pad=0.3)
    return fig


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


def embedding_maps(
    maps: Mapping[str, tuple[np.ndarray, np.ndarray]],
    names: Sequence[str],
    *,
    size: float = 3.8,
    point_size: float = 4.0,
    label_points: bool = True,
) -> Figure:
    """2-D maps (e.g. UMAP) side by side, points coloured by class, class names at class medians.

    Args:
        maps: panel title -> (coordinates (N, 2), labels (N,) ints indexing ``names``). A map of
            the label vectors themselves is one point per class: coordinates (C, 2), labels arange(C).
        names: the class names.
        point_size: marker area of the points (classes with one point get a larger marker).
        label_points: write each class name at the median of its points.

    Returns:
        The figure: 1 x len(maps) axes, a shared colour per class.
    """
    colours = plt.get_cmap("tab20", max(20, len(names)))
    fig, axes = _figure(1, len(maps), width=size * len(maps), height=size)
    for ax, (title, (coords, labels)) in zip(axes[0], maps.items()):
        coords, labels = np.asarray(coords), np.asarray(labels)
        single = len(np.unique(labels)) == len(labels)
        ax.scatter(coords[:, 0], coords[:, 1], c=[colours(int(c) % colours.N) for c in labels],
                   s=50 if single else point_size, alpha=1.0 if single else 0.5, linewidths=0)
        if label_points:
            for c in np.unique(labels):
                x, y = np.median(coords[labels == c], axis=0)
                # one point per class: name beside it; clouds of points: name on the cloud's median
                ax.annotate(names[c], (x, y), fontsize=7, ha="left" if single else "center", va="center",
                            xytext=(5, 0) if single else (0, 0), textcoords="offset points",
                            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "alpha": 0.6, "lw": 0})
        ax.margins(0.12)
        ax.set_title(title, fontsize=10)
        _blank(ax)
    fig.tight_layout(pad=0.3)
    return fig
