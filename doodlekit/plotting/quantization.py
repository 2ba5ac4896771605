"""Figures of DVSQ's quantizer: codebooks and codewords in a 2-D picture, and mAP against bits per coder."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from doodlekit.model.variants import display_name
from doodlekit.plotting.style import figure

#: Colour and marker of each coder's line in :func:`coder_bits_figure` (others: the colour cycle).
CODER_STYLES: dict[str, tuple[str, str]] = {
    "ITQ": ("tab:blue", "o"), "LSH": ("tab:gray", "v"), "PQ": ("tab:green", "s"),
    "DVSQ post-hoc": ("tab:orange", "D"), "DVSQ joint": ("tab:red", "*"),
}


def codebook_picture(points: np.ndarray, codebooks: np.ndarray, codes: np.ndarray, *, size: float = 4.2) -> Figure:
    """2-D points, the codewords of two codebooks and every sum of one codeword from each.

    Args:
        points: (N, 2) data; codebooks: (2, K, 2) codewords; codes: (N, 2) each point's codeword ids.

    Returns:
        One axes: points coloured by their reconstruction, codebook 0's codewords as triangles,
        codebook 1's as squares, the K^2 sums as crosses, and a line from each point to its sum.
    """
    points, codebooks, codes = np.asarray(points), np.asarray(codebooks), np.asarray(codes)
    if points.ndim != 2 or points.shape[1] != 2 or codebooks.shape[0] != 2 or codebooks.shape[2] != 2:
        raise ValueError(f"need (N, 2) points and (2, K, 2) codebooks, got {points.shape} and {codebooks.shape}")
    fig, axes = figure(1, 1, width=size + 1.6, height=size)
    ax = axes[0, 0]
    sums = codebooks[0][:, None, :] + codebooks[1][None, :, :]  # (K, K, 2)
    approximations = sums[codes[:, 0], codes[:, 1]]
    ax.plot(*np.stack([points, approximations], axis=1).transpose(2, 1, 0), color="0.8", linewidth=0.6, zorder=1)
    ax.scatter(*points.T, c=codes[:, 0] * codebooks.shape[1] + codes[:, 1], cmap="tab20", s=10, zorder=2)
    ax.scatter(*sums.reshape(-1, 2).T, marker="x", color="black", s=30, label="sum of two codewords", zorder=3)
    ax.scatter(*codebooks[0].T, marker="^", color="tab:red", s=60, label="codebook 1's codewords", zorder=4)
    ax.scatter(*codebooks[1].T, marker="s", color="tab:blue", s=50, label="codebook 2's codewords", zorder=4)
    ax.axhline(0, color="0.6", linewidth=0.5)
    ax.axvline(0, color="0.6", linewidth=0.5)
    ax.set_aspect("equal")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8)
    ax.set_title(f"{codebooks.shape[1]} + {codebooks.shape[1]} codewords, {codebooks.shape[1] ** 2} reconstructions")
    return fig


def coder_bits_figure(
    curves: Mapping[str, Mapping[str, Mapping[int, float | None]]],
    floats: Mapping[str, float],
    *,
    ylabel: str,
    size: float = 3.4,
) -> Figure:
    """A score against code length, one panel per model, one line per coder, the float score dashed.

    Args:
        curves: model (a variant name gets its legend name) -> coder (e.g. ``"ITQ"``, ``"DVSQ joint"``)
            -> bits -> score (None: not measured). A coder with one width is drawn as a marker.
        floats: model -> its float-cosine score.
        ylabel: the score's name, e.g. ``"mAP@100"``.
    """
    fig, axes = figure(1, len(curves), width=size * len(curves) + 1.6, height=size * 0.85, sharey=True)
    for i, (ax, (model, coders)) in enumerate(zip(axes[0], curves.items(), strict=True)):
        for j, (coder, values) in enumerate(coders.items()):
            colour, marker = CODER_STYLES.get(coder, (f"C{j}", "o"))
            bits = sorted(b for b, v in values.items() if v is not None)
            ax.plot(bits, [values[b] for b in bits], color=colour, marker=marker, label=coder,
                    markersize=10 if marker == "*" else 5, linestyle="-" if len(bits) > 1 else "none")
        if model in floats:
            ax.axhline(floats[model], color="black", linestyle="--", linewidth=1, label="float cosine")
        ax.set_xscale("log", base=2)
        all_bits = sorted({b for values in coders.values() for b in values})
        ax.set_xticks(all_bits, [str(b) for b in all_bits])
        ax.minorticks_off()
        ax.set_xlabel("bits per item")
        ax.set_title(display_name(model))
        if i == 0:
            ax.set_ylabel(ylabel)
    handles, labels = axes[0, -1].get_legend_handles_labels()
    fig.tight_layout(pad=0.3, w_pad=1.0, rect=(0, 0, 1 - 1.5 / fig.get_figwidth(), 1))  # 1.5 in on the right for the legend
    fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(1 - 1.45 / fig.get_figwidth(), 0.92),
               frameon=False, fontsize=8)
    return fig
