"""2-D maps of embeddings for pictures: a balanced subsample, a seeded UMAP, a map of label
vectors, and the class-centroid similarities behind such pictures.

Maps are for looking at, never for numbers: UMAP coordinates are not bit-stable across
machines or library versions (numba, threading), so compare embedding spaces with
:func:`doodlekit.retrieval.metrics.alignment` on the embeddings themselves, and draw the maps with
:func:`doodlekit.plotting.embedding_maps`.
"""

from __future__ import annotations

import warnings

import numpy as np

from doodlekit.semantics.labels import unit_rows

#: Most points :func:`umap_2d` maps by default; more makes UMAP slow on a laptop CPU.
MAX_POINTS = 4_000


def balanced_sample(labels: np.ndarray, n: int = MAX_POINTS, *, seed: int = 0) -> np.ndarray:
    """Row indices of at most ``n`` items, as equal a number per class as the classes allow.

    Each class gives ``n // n_classes`` rows (all of a smaller class), drawn without
    replacement by ``np.random.default_rng(seed)``.

    Args:
        labels: (N,) class labels.
        n: the most rows to return.

    Returns:
        (m,) int64 sorted row indices, m <= n.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be a 1-D array (N,), got shape {labels.shape}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    classes = np.unique(labels)
    per_class = max(1, n // max(1, len(classes)))
    rng = np.random.default_rng(seed)
    picked = [rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in classes]
    return np.sort(np.concatenate(picked))[:n].astype(np.int64) if picked else np.empty(0, np.int64)


def umap_2d(
    X: np.ndarray,
    *,
    seed: int = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    metric: str = "cosine",
    max_points: int = MAX_POINTS,
) -> np.ndarray:
    """A seeded 2-D UMAP of X (N, D): (N, 2) float32 coordinates for plotting.

    ``metric="cosine"`` matches how the kit compares embeddings. With a seed, UMAP runs
    single-threaded and is repeatable on one machine, not across machines.

    Args:
        X: (N, D) float; N <= ``max_points`` (subsample with :func:`balanced_sample`).
        seed: UMAP's ``random_state``.
        n_neighbors, min_dist, metric: UMAP's parameters.

    Raises:
        ValueError: more than ``max_points`` rows, or fewer than 3.
    """
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or not 3 <= X.shape[0] <= max_points:
        raise ValueError(
            f"umap_2d maps 3 to {max_points} points (N, D), got shape {X.shape}; pick rows with "
            "balanced_sample(labels, n) first, or raise max_points and wait longer"
        )
    import umap

    reducer = umap.UMAP(n_components=2, n_neighbors=min(n_neighbors, X.shape[0] - 1), min_dist=min_dist,
                        metric=metric, random_state=seed)
    with warnings.catch_warnings():
        # "n_jobs value 1 overridden to 1 by setting random_state": expected, the price of a seed.
        warnings.filterwarnings("ignore", message=".*n_jobs.*", category=UserWarning)
        return reducer.fit_transform(X).astype(np.float32)


def label_map(vectors: np.ndarray) -> np.ndarray:
    """2-D coordinates (C, 2) float32 of C label vectors, by classical MDS of their cosine distances.

    For unit vectors, squared Euclidean distance is 2 (1 - cos), and classical MDS of Euclidean
    distances is PCA: the coordinates are the centred unit vectors projected on their two
    principal directions (each direction's sign fixed so that its largest entry is positive).
    Exact and deterministic; with a few dozen labels a more faithful picture than UMAP.

    Args:
        vectors: (C, D) label vectors (e.g. ``LabelVectors.vectors``), C >= 3.
    """
    unit = unit_rows(vectors, "vectors", dtype=np.float64)
    if unit.shape[0] < 3:
        raise ValueError(f"a label map needs at least 3 label vectors, got {unit.shape[0]}")
    centred = unit - unit.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:2].T
    axes *= np.sign(axes[np.abs(axes).argmax(axis=0), [0, 1]])
    return (centred @ axes).astype(np.float32)


def centroid_cosines(embeddings: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(C, C) float32 cosines between class centroids of unit-normalised embeddings.

    The matrix :func:`doodlekit.retrieval.metrics.alignment` compares with the label-vector cosines; draw
    it next to :func:`doodlekit.semantics.similarity_matrix` with
    :func:`doodlekit.plotting.similarity_heatmap`.

    Args:
        embeddings: (N, D) float; labels: (N,) ints in ``[0, n_classes)``, every class present.

    Raises:
        ValueError: a class without embeddings, or shapes that do not match.
    """
    unit = unit_rows(embeddings, "embeddings", dtype=np.float64)
    labels = np.asarray(labels)
    if labels.shape != (unit.shape[0],):
        raise ValueError(f"labels must have shape ({unit.shape[0]},), one per embedding, got {labels.shape}")
    counts = np.bincount(labels, minlength=n_classes)
    if counts.shape[0] != n_classes or (counts == 0).any():
        raise ValueError(f"every one of the {n_classes} classes needs embeddings; counts per class: {counts.tolist()}")
    sums = np.zeros((n_classes, unit.shape[1]))
    np.add.at(sums, labels, unit)
    centroids = unit_rows(sums, "class centroids", dtype=np.float64)
    return (centroids @ centroids.T).astype(np.float32)
