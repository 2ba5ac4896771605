"""Figures of retrieval: mAP against code length, and galleries of queries with their nearest doodles."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import ScalarFormatter

from doodlekit.plotting.doodles import as_images
from doodlekit.plotting.style import INK, blank, figure, variant_style, zoom_note

# --- retrieval ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BitsCurve:
    """One line of :func:`bits_figure`: a model's score at each code length, with one hasher.

    Attributes:
        model: the model's name; variant names (``"adaptive_margin"``) get their legend name and
            colour from :data:`doodlekit.model.VARIANTS`, other models the colour cycle.
        hasher: how the legend names the codes (``"ITQ"``, ``"LSH"``, ``"PQ"``); LSH lines are
            dotted, the others solid.
        values: code length (bits) -> score (None: not measured).
        spread: code length -> half-length of an error bar (e.g. the sd over seeds), or None.
    """

    model: str
    hasher: str
    values: Mapping[int, float | None]
    spread: Mapping[int, float | None] | None = None


#: Line style of each hasher's codes in :func:`bits_figure` (others: solid).
HASHER_LINES = {"LSH": ":"}


def bits_figure(
    curves: Sequence[BitsCurve],
    floats: Mapping[str, float | None],
    *,
    ylabel: str,
    size: float = 3.6,
    from_zero: bool = False,
) -> Figure:
    """A score against code length: one line per (model, hasher), each model's float score dashed.

    The y axis is zoomed on the data unless ``from_zero``; a zoomed axis says so in its label
    ("axis starts at 0.60") and has a break mark (two slashes) at its foot.

    Args:
        curves: the lines; a model's lines share its colour.
        floats: model -> its score with float vectors (cosine), a dashed horizontal line.
        ylabel: the score's name, e.g. ``"mAP@100"``.
        size: width of the axes in inches (the legend takes 1.9 more).
        from_zero: start the y axis at 0 (the absolute picture) instead of zooming on the data.

    Returns:
        The figure: one axes, bits on a log2 x axis, the legend to its right.
    """
    fig, axes = figure(1, 1, width=size + 1.9, height=size * 0.8)
    ax = axes[0, 0]
    models = list(dict.fromkeys([curve.model for curve in curves] + list(floats)))
    handles = []  # in drawing order (a legend would put error-bar containers after plain lines)
    for i, model in enumerate(models):
        label, colour = variant_style(model, i)
        for curve in (curve for curve in curves if curve.model == model):
            bits = sorted(curve.values)
            values = np.array([curve.values[b] for b in bits], dtype=float)
            style = {"ls": HASHER_LINES.get(curve.hasher, "-"), "marker": "o", "color": colour,
                     "label": f"{label}, {curve.hasher} codes"}
            if curve.spread is None:
                handles += ax.plot(bits, values, **style)
            else:
                spread = np.array([curve.spread.get(b) for b in bits], dtype=float)
                handles.append(ax.errorbar(bits, values, yerr=spread, capsize=2, **style))
        if floats.get(model) is not None:
            handles.append(ax.axhline(floats[model], color=colour, ls="--", lw=1, label=f"{label}, float cosine"))
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted({b for curve in curves for b in curve.values}))
    ax.get_xaxis().set_major_formatter(ScalarFormatter())
    ax.set_xlabel("code length (bits)", fontsize=9)
    if from_zero:
        ax.set_ylim(bottom=0)
    zoom_note(ax, ylabel)
    ax.tick_params(labelsize=8)
    ax.legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    fig.tight_layout(pad=0.3)
    return fig


def map_vs_bits(
    reports: Mapping[str, Any], *, metric: str = "map", size: float = 3.6, from_zero: bool = False
) -> Figure:
    """A retrieval metric against code length, one line per model, float cosine as dashed lines
    (:func:`bits_figure` of :class:`~doodlekit.retrieval.RetrievalReport` objects).

    Args:
        reports: model name -> :class:`doodlekit.retrieval.RetrievalReport`; variant names
            (``"adaptive_margin"``) get the kit's legend names and colours (:data:`doodlekit.model.VARIANTS`).
        metric: a :class:`~doodlekit.retrieval.RetrievalScores` field: ``"map"``, ``"precision"``,
            ``"semantic_precision"``, ``"miss_similarity"`` ...
        size, from_zero: as in :func:`bits_figure`.

    Returns:
        The figure: one axes, bits on a log2 x axis, the legend to its right.
    """
    curves = [BitsCurve(name, report.hasher.upper(), {b: getattr(s, metric) for b, s in report.hashed.items()})
              for name, report in reports.items()]
    floats = {name: getattr(report.cosine, metric) for name, report in reports.items()}
    k = next(iter(reports.values())).k if reports else None
    names = {"map": "mAP", "precision": "precision", "semantic_precision": "semantic precision"}
    ylabel = f"{names[metric]}@{k}" if metric in names else metric.replace("_", " ")
    return bits_figure(curves, floats, ylabel=ylabel, size=size, from_zero=from_zero)


#: Caption lines of :func:`answer_gallery` (its results titled "label distance").
GALLERY_CAPTION = ("nearest doodles in the gallery, best first, titled with their label and Hamming distance "
                   "to the query in bits")
FRAMES_CAPTION = "green frame: same label as the query;  red frame: another label"
NO_FRAMES_CAPTION = "no frames: the queries have no label among the gallery's, so no result can be right"


def query_gallery(
    queries: np.ndarray,
    results: np.ndarray,
    *,
    query_titles: Sequence[str] | None = None,
    result_titles: Sequence[Sequence[str]] | None = None,
    correct: np.ndarray | None = None,
    size: float = 0.9,
    caption: str | None = None,
) -> Figure:
    """One row per query: the query doodle, a gap, then its ranked results; a caption above.

    Args:
        queries: (Q, 28, 28) or (Q, 784) bitmaps.
        results: (Q, k, 28, 28) or (Q, k, 784) bitmaps of each query's top k, best first.
        query_titles: Q titles (e.g. the query's label): rows are titled "query: <title>", else "query".
        result_titles: Q lists of k titles (e.g. the results' labels).
        correct: (Q, k) bool; results with the query's label get a green frame, others red.
        size: inches per bitmap.
        caption: what the figure shows, one line or more over the rows (default: what the frames
            mean, when there are frames; else none).

    Returns:
        The figure: Q x (k + 1) axes, the caption in ``fig.texts``.
    """
    queries = as_images(queries)
    results = np.asarray(results)
    n_queries, k = results.shape[:2]
    results = results.reshape(n_queries, k, 28, 28)
    if caption is None and correct is not None:
        caption = FRAMES_CAPTION
    # the grid in inches: margin, query (a little larger), gap, k results; each row a title line over its images
    margin, side, gap, space, title = 0.05, 1.1 * size, 0.2, 0.05, 0.22
    width = 2 * margin + side + gap + k * size + (k - 1) * space
    rows_height = n_queries * (title + side) + (n_queries - 1) * 0.06 + margin
    fig, axes = figure(n_queries, k + 1, width=width, height=rows_height)
    caption_space = 0.0
    if caption:
        text = fig.text(margin / width, 1.0, caption, ha="left", va="top", fontsize=9, linespacing=1.3)
        _wrap(text, fig.bbox.width * (1 - 2 * margin / width))
        caption_space = 0.1 + 0.18 * (text.get_text().count("\n") + 1)
    height = rows_height + caption_space
    fig.set_size_inches(width, height)
    if caption:
        text.set_y(1 - 0.05 / height)
    for q in range(n_queries):
        bottom = height - caption_space - (q + 1) * (title + side) - q * 0.06
        ax = axes[q, 0]
        ax.set_position((margin / width, bottom / height, side / width, side / height))
        ax.imshow(queries[q], cmap=INK, vmin=0, vmax=255, interpolation="nearest")
        blank(ax)
        ax.set_title(f"query: {query_titles[q]}" if query_titles is not None else "query", fontsize=9, weight="bold",
                     pad=3)
        for j in range(k):
            ax = axes[q, j + 1]
            left = margin + side + gap + j * (size + space)
            ax.set_position((left / width, (bottom + (side - size) / 2) / height, size / width, size / height))
            ax.imshow(results[q, j], cmap=INK, vmin=0, vmax=255, interpolation="nearest")
            blank(ax)
            if result_titles is not None:
                ax.set_title(result_titles[q][j], fontsize=8, pad=3)
            if correct is not None:
                for spine in ax.spines.values():
                    spine.set_visible(True)
                    spine.set_color("tab:green" if correct[q, j] else "tab:red")
                    spine.set_linewidth(2)
    return fig


def _wrap(text: Text, width_px: float) -> None:
    """Break a text's lines at spaces until it is at most ``width_px`` pixels wide."""
    renderer = text.figure.canvas.get_renderer()
    for _ in range(5):
        box = text.get_window_extent(renderer)
        if box.width <= width_px:
            return
        lines = text.get_text().split("\n")
        chars = max(10, int(max(map(len, lines)) * width_px / box.width) - 1)
        text.set_text("\n".join(textwrap.fill(line, chars) for line in lines))


def answer_gallery(
    queries: np.ndarray,
    answers: Sequence[Any],
    query_labels: Sequence[str] | None = None,
    *,
    size: float = 0.9,
    caption: str | None = None,
) -> Figure:
    """:func:`query_gallery` of :class:`doodlekit.apps.search.Answer` objects, one row per query.

    Results are titled ``"label distance"`` (Hamming bits); with ``query_labels``, a result
    is framed green when its label is the query's and red otherwise. The caption says so
    (:data:`GALLERY_CAPTION`, then :data:`FRAMES_CAPTION`); without ``query_labels`` every row is
    titled "query" and the caption says that frames are off because the queries' label is not
    one of the gallery's (:data:`NO_FRAMES_CAPTION`), as for the lion queries of notebook 04.

    Args:
        queries: (Q, 28, 28) or (Q, 784) query bitmaps.
        answers: Q answers of ``DoodleSearch.query`` (all with the same k).
        query_labels: the queries' true labels, or None (none among the gallery's: no frames).
        caption: replaces the default caption.
    """
    results = np.stack([answer.thumbnails for answer in answers])
    titles = [[f"{label} {int(d)}" for label, d in zip(a.neighbor_labels, a.neighbor_distances)] for a in answers]
    correct = None
    if query_labels is not None:
        correct = np.array([[label == truth for label in a.neighbor_labels] for a, truth in zip(answers, query_labels)])
    if caption is None:
        caption = f"{GALLERY_CAPTION}\n{FRAMES_CAPTION if query_labels is not None else NO_FRAMES_CAPTION}"
    return query_gallery(queries, results, query_titles=query_labels, result_titles=titles, correct=correct, size=size,
                         caption=caption)
