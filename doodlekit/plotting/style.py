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
Figures are small (``DPI``) so that notebooks committed with outputs stay small."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from doodlekit.data.categories import FAMILIES, OTHER_FAMILY, family

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


def figure(nrows: int, ncols: int, *, width: float, height: float, **kwargs: Any) -> tuple[Figure, np.ndarray]:
    """A figure of nrows x ncols axes, returned as a 2-D array of axes."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), dpi=DPI, squeeze=False, **kwargs)
    return fig, axes


def blank(ax: Axes) -> None:
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


def family_handles(names: Sequence[str]) -> list[Patch]:
    """Legend patches of the families of ``names``, in :data:`FAMILY_COLOURS` order."""
    present = {family(name) for name in names}
    return [Patch(color=colour, label=fam) for fam, colour in FAMILY_COLOURS.items() if fam in present]


def variant_style(name: str, i: int) -> tuple[str, Any]:
    """(legend name, colour) of the ``i``-th run called ``name``."""
    return VARIANT_NAMES.get(name, name), VARIANT_COLOURS.get(name, f"C{i % 10}")
