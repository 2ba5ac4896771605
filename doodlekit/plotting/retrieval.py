"""TODO docstring"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

from doodlekit.plotting.doodles import as_images
from doodlekit.plotting.style import INK, blank, figure, variant_style

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
    fig, axes = figure(1, 1, width=size + 1.9, height=size * 0.8)
    ax = axes[0, 0]
    for i, (name, report) in enumerate(reports.items()):
        label, colour = variant_style(name, i)
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
    queries = as_images(queries)
    results = np.asarray(results)
    n_queries, k = results.shape[:2]
    results = results.reshape(n_queries, k, 28, 28)
    fig, axes = figure(n_queries, k + 1, width=size * (k + 1) + 0.3, height=(size + 0.2) * n_queries,
                        gridspec_kw={"width_ratios": [1.3] + [1] * k})
    for q in range(n_queries):
        ax = axes[q, 0]
        ax.imshow(queries[q], cmap=INK, vmin=0, vmax=255, interpolation="nearest")
        blank(ax)
        ax.set_title(f"query: {query_titles[q]}" if query_titles is not None else "query", fontsize=8, weight="bold")
        for j in range(k):
            ax = axes[q, j + 1]
            ax.imshow(results[q, j], cmap=INK, vmin=0, vmax=255, interpolation="nearest")
            blank(ax)
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
