"""Figures of training: learning curves and confusion matrices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from doodlekit.plotting.style import METRIC_TITLES, figure, variant_lines, zoom_note


def _metric_title(metric: str) -> str:
    """Readable title of a history entry: :data:`METRIC_TITLES`, else ``train_x`` -> ``training x``."""
    if metric in METRIC_TITLES:
        return METRIC_TITLES[metric]
    for prefix, word in (("train_", "training "), ("val_", "validation ")):
        if metric.startswith(prefix):
            return word + metric[len(prefix):].replace("_", " ")
    return metric.replace("_", " ")


# --- training -----------------------------------------------------------------------------


def training_curves(
    histories: Mapping[str, Any],
    metrics: Sequence[str] = ("train_total", "val_top1", "val_cos_true"),
    *,
    size: float = 3.0,
    titles: Mapping[str, str] | None = None,
    from_zero: bool = False,
) -> Figure:
    """Per-epoch curves of several runs, one panel per metric, one line per run.

    Panels are titled in words (:data:`METRIC_TITLES`: ``"train_ce"`` -> "training
    cross-entropy"); runs named like variants get the kit's names and colours
    (:data:`doodlekit.model.VARIANTS`: ``"adaptive_margin"`` -> "adaptive margin"). Each run has its
    own line style and marker (:func:`variant_lines`): a solid line drawn wide underneath, broken
    ones on top, so that two runs with the same values both stay visible.

    A panel's y axis starts at 0 when its data are not negative and its lowest value is at most half
    its highest; otherwise (unless ``from_zero``) it zooms on the data and says so in its label
    ("(axis starts at 0.62)", with a break mark at its foot: :func:`zoom_note`).

    Args:
        histories: run name -> its per-epoch records: a :class:`doodlekit.model.training.History`, a
            pandas DataFrame indexed by epoch, or a list of dicts with an ``"epoch"`` key.
        metrics: record entries to plot (e.g. ``"train_ce"``, ``"val_top1"``, ``"val_cos_other"``);
            a run without an entry is left out of that panel.
        size: inches per panel.
        titles: metric -> panel title, for metrics :data:`METRIC_TITLES` does not name as wanted.
        from_zero: start every panel's y axis at 0 (when its data are not negative).

    Returns:
        The figure: 1 x len(metrics) axes, epochs on x, one legend of the runs under the panels'
        "epoch" labels.
    """
    fig, axes = figure(1, len(metrics), width=size * len(metrics) + 0.4, height=size * 0.85 + 0.5)
    handles: dict[str, Line2D] = {}
    for i, (name, history) in enumerate(histories.items()):
        records = history.records if hasattr(history, "records") else history
        if hasattr(records, "reset_index"):  # a DataFrame indexed by epoch
            records = records.reset_index().to_dict("records")
        style = variant_lines(name, i)
        epochs = [record["epoch"] for record in records]
        for ax, metric in zip(axes[0], metrics):
            if all(metric in record for record in records):
                (handles[style["label"]],) = ax.plot(epochs, [record[metric] for record in records], **style)
    for ax, metric in zip(axes[0], metrics):
        ax.set_title((titles or {}).get(metric, _metric_title(metric)), fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.get_major_locator().set_params(integer=True)
        values = np.concatenate([line.get_ydata() for line in ax.get_lines()]) if ax.get_lines() else np.empty(0)
        if len(values) and values.min() >= 0 and (from_zero or values.min() <= 0.5 * values.max()):
            ax.set_ylim(bottom=0)
        zoom_note(ax, fontsize=8)
    legend_space = 0.3  # inches under the panels for the legend
    fig.tight_layout(pad=0.3, rect=(0, legend_space / fig.get_figheight(), 1, 1))
    # the legend's top just under the lowest "epoch" label, never over it
    renderer = fig.canvas.get_renderer()
    foot = min(ax.get_tightbbox(renderer).y0 for ax in axes[0]) / fig.bbox.height
    fig.legend(handles=list(handles.values()), loc="upper center", bbox_to_anchor=(0.5, foot),
               ncol=max(1, len(handles)), fontsize=8, frameon=False, borderaxespad=0.2, handlelength=3)
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
        ax = figure(1, 1, width=side + 1, height=side)[1][0, 0]
    sns.heatmap(confusion, ax=ax, xticklabels=names, yticklabels=names, cmap="Blues", square=True,
                vmin=0, vmax=1 if normalize else None, cbar_kws={"shrink": 0.6})
    ax.set_xlabel("predicted", fontsize=9)
    ax.set_ylabel("true", fontsize=9)
    ax.tick_params(labelsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    return ax
