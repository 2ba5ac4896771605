"""2-D maps of embedding spaces side by side, coloured by semantic family and aligned to a reference
map by an orthogonal Procrustes fit of the class centres."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text
from scipy.linalg import orthogonal_procrustes

from doodlekit.plotting.style import (
    blank,
    category_colour,
    family_handles,
    figure,
    place_labels,
)

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
    the families. Each class's name sits once, just outside its island (beside its point for a map
    with one point per class), outlined in white, clear of every point and of the other names; a
    name that had to move away from its island gets a thin leader line back to it (placed in screen
    space by a fixed, deterministic search: :func:`~doodlekit.plotting.style.place_labels`).

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
    rows = -(-len(family_handles(names)) // max(1, int(size * len(panels) / 0.95))) if legend else 0
    legend_space = 0.1 + 0.22 * rows if legend else 0.0
    fig, axes = figure(1, len(panels), width=size * len(panels), height=size + legend_space)
    placed: list[tuple[Axes, list[Text], list[np.ndarray], np.ndarray, bool]] = []
    for ax, (title, (coords, labels)) in zip(axes[0], panels.items()):
        single = _one_point_per_class(labels)
        ax.scatter(coords[:, 0], coords[:, 1], c=colours[labels], s=60 if single else point_size,
                   alpha=1.0 if single else 0.7, linewidths=0)
        ax.set_aspect("equal", adjustable="datalim")
        ax.margins(x=0.22 if single else 0.12, y=0.1)  # room for names beside lone points and around islands
        ax.set_title(title, fontsize=10)
        blank(ax)
        if label_points:
            classes, centres = class_centres(coords, labels)
            outline = [patheffects.withStroke(linewidth=2.5, foreground="white")]
            texts = [ax.text(*centre, names[c], fontsize=8, zorder=4, path_effects=outline, ha="center", va="center")
                     for c, centre in zip(classes, centres)]
            placed.append((ax, texts, [coords[labels == c] for c in classes], coords, single))
    if legend:
        handles = family_handles(names)
        per_row = max(1, min(len(handles), int(fig.get_figwidth() / 0.95)))
        fig.legend(handles=handles, loc="lower center", ncol=per_row, fontsize=8, frameon=False, handlelength=1,
                   columnspacing=1.2, handletextpad=0.4)
    fig.tight_layout(pad=0.3, rect=(0, legend_space / fig.get_figheight(), 1, 1))
    for ax, texts, clusters, points, single in placed:
        ax.apply_aspect()
        ax.set_autoscale_on(False)  # names are placed in screen space: the limits must not move any more
        marker_px = np.sqrt(60 if single else point_size) / 2 * fig.dpi / 72
        for start, end in place_labels(ax, texts, clusters, points, marker_px=marker_px, prefer=0 if single else 90):
            ax.plot([start[0], end[0]], [start[1], end[1]], color="0.35", lw=0.7, zorder=3.5)
    return fig
