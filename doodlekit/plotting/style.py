"""The look shared by every figure of the kit: resolution, ink colour, the family palette, variant styles.

The figures themselves live by concern, all importable from :mod:`doodlekit.plotting`:
:mod:`~doodlekit.plotting.doodles` (bitmaps, strokes), :mod:`~doodlekit.plotting.semantics` (label
similarities), :mod:`~doodlekit.plotting.training` (curves, confusions),
:mod:`~doodlekit.plotting.retrieval` (mAP against bits, galleries) and :mod:`~doodlekit.plotting.maps`
(2-D maps aligned by Procrustes).

Classes are coloured by semantic family (:data:`doodlekit.data.categories.FAMILIES`) with one palette,
:data:`FAMILY_COLOURS`, so "animals" has the same colour in every notebook; training variants
have the names and colours of their row in :data:`doodlekit.model.VARIANTS` (:func:`variant_style`);
:func:`category_colour` gives a class its colour.

Every helper draws with matplotlib's object API and returns the figure (or seaborn grid) it
made, so a notebook cell can keep, tweak or save it; helpers that take ``ax`` draw into it.
Figures are small (:data:`DPI`) so that notebooks committed with outputs stay small.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.text import Text

from doodlekit.data.categories import FAMILIES, OTHER_FAMILY, family
from doodlekit.model.variants import VARIANTS, display_name

#: Resolution of every figure made here (dots per inch).
DPI = 80
#: Colour map of bitmaps: ink (255) dark on white paper (0).
INK = "gray_r"

#: Colour of each semantic family of :data:`doodlekit.data.categories.FAMILIES` (and of unlisted
#: categories, :data:`~doodlekit.data.categories.OTHER_FAMILY`), the same in every figure.
FAMILY_COLOURS: dict[str, str] = {
    "animals": "tab:blue", "vehicles": "tab:red", "fruit": "tab:orange", "sky": "tab:purple",
    "shapes": "tab:cyan", "plants": "tab:green", "things": "tab:brown", "faces": "tab:pink",
    OTHER_FAMILY: "tab:gray",
}
#: Record entry of a training history -> panel title (others: ``train_``/``val_`` spelt out).
METRIC_TITLES: dict[str, str] = {
    "train_total": "training loss (total)", "train_ce": "training cross-entropy",
    "train_semantic": "training semantic loss", "val_total": "validation loss (total)",
    "val_ce": "validation cross-entropy", "val_semantic": "validation semantic loss",
    "val_top1": "validation top-1 accuracy", "val_top5": "validation top-5 accuracy",
    "val_cos_true": "validation cos(z, v_y)", "val_cos_other": "validation max cos(z, v_k), k \u2260 y",
    "lr": "learning rate", "train_seconds": "training time (s)",
}
#: Training variant -> (line style, marker) in line plots (:func:`variant_lines`).
VARIANT_LINES: dict[str, tuple[str, str]] = {"ce": ("--", "s"), "fixed_margin": ("-.", "^"),
                                             "adaptive_margin": ("-", "o"), "dvsq": (":", "D")}
_OTHER_LINES = (("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"))
# Lighter (> 0) or darker (< 0) shades of a family's colour for its 1st, 2nd, ... member, as fractions
# of the lightness range of :func:`category_colour` (-0.5: the darkest, 0.5: the lightest).
_SHADES = (0.0, -0.5, 0.5, -0.25, 0.25, -0.375, 0.375, -0.125, 0.125, 0.4375)
# How far shades move in CIELAB lightness each way, at most, and the share of the family colour's
# chroma a shade keeps (darker orange would turn brown, lighter colours grey, without it).
_SHADE_LIGHTNESS, _SHADE_CHROMA = 25.0, 0.85
# sRGB (D65) linear RGB -> XYZ, and the D65 white.
_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
_WHITE = np.array([0.95047, 1.0, 1.08883])


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


def _to_lab(rgb: Sequence[float]) -> np.ndarray:
    """CIELAB (L*, a*, b*) of an sRGB colour with channels in [0, 1]."""
    c = np.asarray(rgb, dtype=float)
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    t = _XYZ @ linear / _WHITE
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _from_lab(lab: Sequence[float]) -> np.ndarray:
    """sRGB channels of a CIELAB colour (outside [0, 1] when it is out of the sRGB gamut)."""
    fy = (lab[0] + 16) / 116
    f = np.array([fy + lab[1] / 500, fy, fy - lab[2] / 200])
    linear = np.linalg.solve(_XYZ, np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * _WHITE)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.abs(linear) ** (1 / 2.4) - 0.055)


def _gamut_chroma(lightness: float, a: float, b: float) -> float:
    """The largest factor (at most 1) by which (a, b) can be scaled at this lightness and stay in sRGB."""
    low, high = 0.0, 1.0
    for _ in range(30):
        mid = (low + high) / 2
        rgb = _from_lab((lightness, a * mid, b * mid))
        low, high = (mid, high) if ((rgb >= -1e-9) & (rgb <= 1 + 1e-9)).all() else (low, mid)
    return low


@cache
def category_colour(name: str) -> tuple[float, float, float]:
    """RGB of a category: its family's colour (:data:`FAMILY_COLOURS`), a shade lighter or darker
    per member of the family so that classes of one family stay apart. The same in every call.

    Shades keep the family colour's hue (CIELAB hue angle) and at least 85% of its chroma; only the
    lightness moves, by up to 25 CIELAB units each way, less where the sRGB gamut would grey the
    colour (so a darker orange never turns brown, a lighter one never beige).
    """
    fam = family(name)
    lightness, a, b = _to_lab(to_rgb(FAMILY_COLOURS[fam]))
    members = FAMILIES.get(fam, ())
    shade = _SHADES[members.index(name) % len(_SHADES)] if name in members else 0.0
    side = np.sign(shade)
    reach = 0.0  # how far this family's shades go on this side, in whole lightness units
    while shade and reach < _SHADE_LIGHTNESS and _gamut_chroma(lightness + side * (reach + 1), a, b) >= _SHADE_CHROMA:
        reach += 1
    lightness += shade / 0.5 * reach
    scale = _gamut_chroma(lightness, a, b)
    return tuple(float(v) for v in np.clip(_from_lab((lightness, a * scale, b * scale)), 0, 1))


def family_handles(names: Sequence[str]) -> list[Patch]:
    """Legend patches of the families of ``names``, in :data:`FAMILY_COLOURS` order."""
    present = {family(name) for name in names}
    return [Patch(color=colour, label=fam) for fam, colour in FAMILY_COLOURS.items() if fam in present]


def variant_style(name: str, i: int) -> tuple[str, Any]:
    """(legend name, colour) of the ``i``-th run called ``name``: a variant's display name and colour
    (:data:`doodlekit.model.VARIANTS`); any other name as is, with the ``i``-th colour of the cycle."""
    return display_name(name), VARIANTS[name].colour if name in VARIANTS else f"C{i % 10}"


def variant_lines(name: str, i: int) -> dict[str, Any]:
    """Line keywords of the ``i``-th run called ``name`` (``ax.plot(..., **variant_lines(name, i))``):
    its colour and legend name (:func:`variant_style`), and a line style and marker of its own
    (:data:`VARIANT_LINES`; other runs take them in turn), so that runs with equal values stay
    apart: a solid line is drawn wide and underneath, a broken one narrower and on top."""
    label, colour = variant_style(name, i)
    ls, marker = VARIANT_LINES.get(name, _OTHER_LINES[i % len(_OTHER_LINES)])
    if ls == "-":
        return {"color": colour, "label": label, "ls": ls, "marker": marker, "lw": 3.2, "ms": 7, "alpha": 0.8,
                "zorder": 2}
    dashes = {"--": (3.0, 2.2), "-.": (4.0, 1.8, 1.0, 1.8), ":": (1.0, 1.5)}[ls]  # in line widths: gaps that show
    return {"color": colour, "label": label, "ls": (0, dashes), "marker": marker, "lw": 1.4, "ms": 4.5,
            "alpha": 0.95, "zorder": 3}


def zoom_note(ax: Axes, ylabel: str = "", *, fontsize: float = 9) -> str:
    """Label a y axis ``ylabel``, saying so when it does not start at 0: with its bottom above 0,
    "(axis starts at 0.62)" is appended and a break mark (two slashes) crosses the foot of the axis.
    Call once the limits are final. Returns the label set."""
    bottom = ax.get_ylim()[0]
    if bottom > 0:
        ylabel = f"{ylabel}  (axis starts at {bottom:.2f})".lstrip()
        for dy in (0.0, 0.025):
            ax.plot([-0.025, 0.025], [0.01 + dy, 0.04 + dy], transform=ax.transAxes, color="k", lw=1,
                    clip_on=False)
    ax.set_ylabel(ylabel, fontsize=fontsize)
    return ylabel


# --- labels -------------------------------------------------------------------------------


def place_labels(
    ax: Axes,
    texts: Sequence[Text],
    clusters: Sequence[np.ndarray],
    points: np.ndarray,
    *,
    marker_px: float,
    prefer: float | Sequence[float] = 90.0,
    passes: int = 3,
    leader_px: float = 8.0,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Move each text just outside its cluster of points, clear of every point and of the other texts.

    Works in screen pixels, deterministically: each text tries 24 directions around the core of its
    cluster (the points around its densest spot, so that strays on other islands do not count), at
    the core's outline in that direction and then 12 steps of 6 px further out, and takes the spot
    of least cost: overlapping another text or leaving the axes is forbidden, then 25 per point of
    the panel under the text, 1 per pixel away from the outline, and up to 8 for leaving the
    ``prefer``-red direction (degrees: 90 above, 0 right; one for all texts or one each). Texts go
    one by one, those in the most crowded places first, ``passes`` times over (later passes
    re-place each among all the others). Call once the layout and the limits are final.

    Args:
        texts: the C texts, any alignment (each is re-anchored at its centre).
        clusters: C non-empty arrays (n_c, 2) of each text's points, data coordinates.
        points: (N, 2) every point drawn in the panel, data coordinates.
        marker_px: radius of a point's marker in pixels.
        leader_px: how far (beyond the markers) a text may sit from its cluster without a leader line.

    Returns:
        For each text whose box ends up more than ``leader_px`` pixels beyond its cluster's markers,
        the leader line to draw ((2,) start on its cluster, (2,) end on the box), data coordinates.
    """
    to_screen, to_data = ax.transData.transform, ax.transData.inverted().transform
    frame = ax.get_window_extent()
    dots = to_screen(points) if len(points) else np.empty((0, 2))
    pad = 2.0  # pixels of air around each text
    half = np.array([[t.get_window_extent().width / 2 + pad, t.get_window_extent().height / 2 + pad] for t in texts])
    angles = np.radians(np.arange(0, 360, 15))
    units = np.c_[np.cos(angles), np.sin(angles)]
    prefer = np.radians(np.broadcast_to(np.asarray(prefer, dtype=float), (len(texts),)))
    cores, candidates, steps = [], [], []
    for cluster, (hw, hh), preferred in zip(clusters, half, prefer):
        pixels = to_screen(cluster)
        # the island's core: around its densest point, dropping strays that sit on other islands
        sample = pixels[:: -(-len(pixels) // 400)]  # at most 400 points to find the densest one
        crowd = (np.linalg.norm(sample[:, None] - sample[None], axis=-1) < 10).sum(axis=1)
        centre = sample[np.argmax(crowd)]
        distance = np.linalg.norm(pixels - centre, axis=1)
        core = pixels[distance <= max(2.5 * np.median(distance), 6.0)]
        outline = (core - centre) @ units.T  # (n, 24): how far the cluster reaches in each direction
        reach = outline.max(axis=0) + marker_px + np.abs(units[:, 0]) * hw + np.abs(units[:, 1]) * hh + 1.0
        out = np.arange(13) * 6.0
        spots = centre + (reach[:, None, None] + out[None, :, None]) * units[:, None, :]  # (24, 13, 2)
        cores.append(core)
        candidates.append(spots.reshape(-1, 2))
        steps.append((out[None, :] + 4.0 * (1 - np.cos(angles - preferred))[:, None]).ravel())
    crowding = [np.sum(np.linalg.norm(dots - core.mean(axis=0), axis=1) < 40) - len(core) for core in cores]
    order = np.argsort(-np.array(crowding), kind="stable")
    placed = np.full((len(texts), 2), np.nan)
    for _ in range(passes):
        for i in order:
            spots, (hw, hh) = candidates[i], half[i]
            cost = steps[i].copy()
            # points under the text (with their marker radius)
            near_x = np.abs(spots[:, None, 0] - dots[None, :, 0]) < hw + marker_px
            near_y = np.abs(spots[:, None, 1] - dots[None, :, 1]) < hh + marker_px
            cost += 25.0 * (near_x & near_y).sum(axis=1)
            # other texts and the axes' edges: forbidden
            others = [j for j in range(len(texts)) if j != i and not np.isnan(placed[j, 0])]
            for j in others:
                overlap_x = np.abs(spots[:, 0] - placed[j, 0]) < hw + half[j, 0]
                overlap_y = np.abs(spots[:, 1] - placed[j, 1]) < hh + half[j, 1]
                cost += 1e6 * (overlap_x & overlap_y)
            outside = ((spots[:, 0] - hw < frame.x0) | (spots[:, 0] + hw > frame.x1)
                       | (spots[:, 1] - hh < frame.y0) | (spots[:, 1] + hh > frame.y1))
            cost += 1e5 * outside
            placed[i] = spots[np.argmin(cost)]
    leaders = []
    for text, spot, core, (hw, hh) in zip(texts, placed, cores, half):
        text.set_position(to_data(spot))
        text.set_horizontalalignment("center")
        text.set_verticalalignment("center")
        # the box's point nearest to the cluster, and the cluster's point nearest to that
        nearest = core[np.argmin(np.linalg.norm(core - spot, axis=1))]
        edge = np.clip(nearest, spot - [hw - pad, hh - pad], spot + [hw - pad, hh - pad])
        start = core[np.argmin(np.linalg.norm(core - edge, axis=1))]
        if np.linalg.norm(start - edge) > leader_px + marker_px:
            leaders.append((to_data(start), to_data(edge)))
    return leaders
