"""Quick tests of doodlekit.plotting on real drawings and label vectors: each helper returns the
figure it promises (panels, labels, lines), without looking at pixels."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from doodlekit import plotting
from doodlekit.data import quickdraw
from doodlekit.data import raster
from doodlekit import semantics
from doodlekit.data import DEFAULT_CATEGORIES, FAMILIES, OTHER_FAMILY, UNTUNED_CATEGORIES, family

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def bitmaps() -> dict[str, np.ndarray]:
    return {name: quickdraw.load_bitmaps(name, n=12, progress=False) for name in ("cat", "dog", "car", "moon")}


@pytest.fixture(scope="module")
def cat_drawing() -> tuple[list, list]:
    """The same cat as raw strokes (with times) and as simplified strokes."""
    raw = quickdraw.load_drawings("cat", n=1, fmt="raw", progress=False)[0]
    simplified = {r["key_id"]: r for r in quickdraw.load_drawings("cat", fmt="simplified", progress=False)}
    return raw["drawing"], simplified[raw["key_id"]]["drawing"]


@pytest.fixture(scope="module")
def label_cosines() -> tuple[np.ndarray, list[str]]:
    labels = semantics.label_vectors("glove-6b-50d", DEFAULT_CATEGORIES[:10])
    return semantics.similarity_matrix(labels), labels.categories


def visible_axes(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.get_visible()]


def tick_texts(labels: list) -> list[str]:
    return [label.get_text() for label in labels]


# --- palette --------------------------------------------------------------------------


def test_every_mirror_category_has_one_family_with_a_colour() -> None:
    members = [name for names in FAMILIES.values() for name in names]
    assert sorted(members) == sorted(DEFAULT_CATEGORIES + UNTUNED_CATEGORIES)  # each exactly once
    assert FAMILIES["animals"][:5] == ("cat", "dog", "horse", "bird", "fish")
    assert family("banana") == "fruit" and family("zebra") == OTHER_FAMILY
    assert set(plotting.FAMILY_COLOURS) == set(FAMILIES) | {OTHER_FAMILY}
    # one colour per name, the same in every call; classes of one family get distinct shades
    assert plotting.category_colour("dog") == plotting.category_colour("dog")
    assert len({plotting.category_colour(name) for name in FAMILIES["animals"]}) == len(FAMILIES["animals"])


# --- doodles --------------------------------------------------------------------------


def test_show_bitmaps_lays_out_one_panel_per_image(bitmaps: dict[str, np.ndarray]) -> None:
    fig = plotting.show_bitmaps(bitmaps["cat"][:10], titles=[f"cat {i}" for i in range(10)], ncols=4)
    assert isinstance(fig, Figure) and fig.dpi == plotting.DPI
    assert len(fig.axes) == 12 and len(visible_axes(fig)) == 10  # 3 rows of 4, two spare panels hidden
    assert [ax.get_title() for ax in visible_axes(fig)][:2] == ["cat 0", "cat 1"]
    image = visible_axes(fig)[0].get_images()[0].get_array()
    np.testing.assert_array_equal(image, bitmaps["cat"][0].reshape(28, 28))


def test_show_bitmaps_takes_images_of_different_sizes(cat_drawing: tuple[list, list]) -> None:
    raw, _ = cat_drawing
    fig = plotting.show_bitmaps([raster.rasterize(raw, fmt="raw", size=64), raster.rasterize(raw, fmt="raw")], ncols=2)
    assert [ax.get_images()[0].get_array().shape for ax in fig.axes] == [(64, 64), (28, 28)]


def test_mosaic_tiles_with_gaps(bitmaps: dict[str, np.ndarray]) -> None:
    tiles = plotting.mosaic(bitmaps["dog"][:5], ncols=3, gap=2)
    assert tiles.shape == (2 * 30 - 2, 3 * 30 - 2) and tiles.dtype == np.uint8
    np.testing.assert_array_equal(tiles[30:58, 30:58], bitmaps["dog"][4].reshape(28, 28))
    assert not tiles[30:, 60:].any()  # the sixth tile is paper


def test_category_grid_is_one_image_labelled_by_category(bitmaps: dict[str, np.ndarray]) -> None:
    fig = plotting.category_grid(bitmaps, per_row=6)
    (ax,) = fig.axes
    assert [label.get_text() for label in ax.get_yticklabels()] == list(bitmaps)
    assert ax.get_images()[0].get_array().shape == (4 * 30 - 2, 6 * 30 - 2)


def test_draw_strokes_draws_one_line_per_stroke_and_replays_by_time(cat_drawing: tuple[list, list]) -> None:
    raw, simplified = cat_drawing
    ax = plotting.draw_strokes(simplified, title="cat")
    assert len(ax.get_lines()) == len(simplified) and ax.get_title() == "cat"
    assert ax.yaxis_inverted()  # screen coordinates: y points down
    first_stroke_end = max(raw[0][2])
    ax = plotting.draw_strokes(raw, upto=first_stroke_end)
    assert len(ax.get_lines()) == 1


def test_drawing_formats_and_stroke_frames_panels(cat_drawing: tuple[list, list]) -> None:
    raw, simplified = cat_drawing
    bitmap = raster.rasterize(simplified)
    assert len(plotting.drawing_formats(raw, simplified, bitmap).axes) == 3
    fig = plotting.drawing_formats(raw, simplified, bitmap, bitmap)
    assert [ax.get_title() for ax in fig.axes][2:] == ["rasterized 28x28", "dataset bitmap"]
    assert fig.axes[0].get_title() == f"raw: {sum(len(s[0]) for s in raw)} points"
    frames = plotting.stroke_frames(raw, n_frames=5)
    assert len(frames.axes) == 5
    lines = [len(ax.get_lines()) for ax in frames.axes]
    assert lines == sorted(lines) and lines[-1] == len(raw)  # the replay only grows, ending complete


# --- semantics ------------------------------------------------------------------------


def test_similarity_heatmap_and_clustermap(label_cosines: tuple[np.ndarray, list[str]]) -> None:
    cosines, names = label_cosines
    ax = plotting.similarity_heatmap(cosines, names, title="cosines")
    assert [t.get_text() for t in ax.get_xticklabels()] == names and ax.get_title() == "cosines"
    assert len(ax.texts) == len(names) ** 2  # one annotation per cell
    grid = plotting.similarity_clustermap(cosines, names)
    order = grid.dendrogram_row.reordered_ind
    assert sorted(order) == list(range(len(names)))
    assert [t.get_text() for t in grid.ax_heatmap.get_yticklabels()] == [names[i] for i in order]
    assert grid.figure.get_suptitle() == "cosine similarity of label vectors, clustered"
    assert grid.ax_cbar.get_title() == "cosine of\nlabel vectors"
    # the family strip: each row's family colour, in the clustered order; a legend names the families
    strip = grid.ax_row_colors.collections[0]
    shown = strip.cmap(strip.norm(strip.get_array().ravel()))[:, :3]
    expected = [matplotlib.colors.to_rgb(plotting.FAMILY_COLOURS[family(names[i])]) for i in order]
    np.testing.assert_allclose(shown, expected)
    (legend,) = grid.figure.legends
    assert tick_texts(legend.get_texts()) == [f for f in plotting.FAMILY_COLOURS if f in {family(n) for n in names}]
    plain = plotting.similarity_clustermap(cosines, names, title="t", cbar_label="c", families=False)
    assert plain.ax_row_colors is None and not plain.figure.legends and plain.figure.get_suptitle() == "t"
    with pytest.raises(ValueError, match=r"\(10, 10\)"):
        plotting.similarity_heatmap(cosines[:3, :3], names)


def test_pair_scatter_has_one_dot_per_pair(label_cosines: tuple[np.ndarray, list[str]]) -> None:
    cosines, names = label_cosines
    ax = plotting.pair_scatter(cosines, 1 - cosines, names, labels=("cos", "margin"), annotate=3)
    assert ax.collections[0].get_offsets().shape == (len(names) * (len(names) - 1) // 2, 2)
    assert len(ax.texts) == 3 and ax.get_xlabel() == "cos"


def test_similarity_heatmaps_side_by_side(label_cosines: tuple[np.ndarray, list[str]]) -> None:
    cosines, names = label_cosines
    fig = plotting.similarity_heatmaps({"a": cosines, "b": 1 - cosines, "c": cosines}, names, vmin=-1, vmax=1)
    *heatmaps, colourbar = fig.axes  # three heatmaps and one colour bar
    assert [ax.get_title() for ax in heatmaps] == ["a", "b", "c"]
    assert colourbar.get_ylabel() == "cosine"
    # all panels the same size (the colour bar has its own axes), names under every panel, rows on the first
    sizes = {(round(ax.get_position().width, 4), round(ax.get_position().height, 4)) for ax in heatmaps}
    assert len(sizes) == 1
    assert all(tick_texts(ax.get_xticklabels()) == names for ax in heatmaps)
    assert tick_texts(heatmaps[0].get_yticklabels()) == names and not heatmaps[2].get_yticklabels()
    assert colourbar.get_position().height == pytest.approx(heatmaps[0].get_position().height)
    labelled = plotting.similarity_heatmaps({"a": cosines}, names, cbar_label="cos(centroid, centroid)")
    assert labelled.axes[-1].get_ylabel() == "cos(centroid, centroid)"


# --- training -------------------------------------------------------------------------


def test_training_curves_one_panel_per_metric_one_line_per_run() -> None:
    records = [{"epoch": e, "train_ce": 1.0 / e, "val_top1": 0.5 + 0.1 * e} for e in (1, 2, 3)]
    with_cos = [dict(r, val_cos_true=0.2 * r["epoch"]) for r in records]
    fig = plotting.training_curves({"ce": records, "adaptive_margin": with_cos, "mine": records},
                                   metrics=("train_ce", "val_top1", "val_cos_true", "val_cos_width"))
    assert [ax.get_title() for ax in fig.axes] == [
        "training cross-entropy", "validation top-1 accuracy", "validation cos(z, v_y)", "validation cos width"]
    assert [len(ax.get_lines()) for ax in fig.axes] == [3, 3, 1, 0]  # "ce" and "mine" have no val_cos_true
    np.testing.assert_allclose(fig.axes[1].get_lines()[0].get_ydata(), [0.6, 0.7, 0.8])
    (legend,) = fig.legends  # one legend for all panels, variants by their names, other runs as given
    assert tick_texts(legend.get_texts()) == ["CE", "adaptive margin", "mine"]
    assert matplotlib.colors.to_hex(fig.axes[2].get_lines()[0].get_color()) == matplotlib.colors.to_hex(
        plotting.VARIANT_COLOURS["adaptive_margin"])
    renamed = plotting.training_curves({"ce": records}, metrics=("val_top1",), titles={"val_top1": "accuracy"})
    assert renamed.axes[0].get_title() == "accuracy"


def test_confusion_heatmap_normalises_rows() -> None:
    names = ["cat", "dog", "car"]
    confusion = np.array([[8, 2, 0], [1, 9, 0], [0, 0, 5]])
    ax = plotting.confusion_heatmap(confusion, names, title="t")
    shown = ax.collections[0].get_array().reshape(3, 3)
    np.testing.assert_allclose(shown.sum(axis=1), 1.0)
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"
    counts = plotting.confusion_heatmap(confusion, names, normalize=False).collections[0].get_array()
    assert counts.max() == 9


# --- retrieval ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pixel_search(bitmaps: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Raw pixels of real bitmaps as stand-in embeddings (48, 784) with labels (48,)."""
    pixels = np.concatenate(list(bitmaps.values())).astype(np.float32)
    return pixels, np.repeat(np.arange(len(bitmaps)), 12)


def test_map_vs_bits_draws_codes_and_float_reference(pixel_search: tuple[np.ndarray, np.ndarray]) -> None:
    from doodlekit.retrieval import retrieval_report

    pixels, labels = pixel_search
    reports = {name: retrieval_report(pixels, labels, bits=(8, 16, 32), hasher=hasher, k=10)
               for name, hasher in (("itq", "itq"), ("lsh", "lsh"))}
    fig = plotting.map_vs_bits(reports)
    (ax,) = fig.axes
    solid = [line for line in ax.get_lines() if line.get_linestyle() == "-" and line.get_marker() == "o"]
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(solid) == 2 and len(dashed) == 2
    np.testing.assert_allclose(solid[0].get_ydata(), [reports["itq"].hashed[b].map for b in (8, 16, 32)])
    assert ax.get_xlabel() == "code length (bits)"
    # a zoomed y axis says where it starts, and shows a break mark (two slashes) at its foot
    bottom = ax.get_ylim()[0]
    assert bottom > 0 and ax.get_ylabel() == f"mAP@10  (axis starts at {bottom:.2f})"
    assert len([line for line in ax.get_lines() if line.get_transform() == ax.transAxes]) == 2
    (zero,) = plotting.map_vs_bits(reports, from_zero=True).axes
    assert zero.get_ylim()[0] == 0 and zero.get_ylabel() == "mAP@10"
    assert [line for line in zero.get_lines() if line.get_transform() == zero.transAxes] == []
    assert tick_texts(zero.get_legend().get_texts())[:2] == ["itq, ITQ codes", "itq, float cosine"]


def test_query_and_answer_galleries(bitmaps: dict[str, np.ndarray]) -> None:
    from doodlekit.apps import Answer

    queries = np.stack([bitmaps["cat"][0], bitmaps["car"][0]])
    answers = [
        Answer(labels=("cat",), probabilities=np.ones(1, np.float32), neighbor_ids=np.arange(4),
               neighbor_labels=(truth, truth, "dog", truth), neighbor_distances=np.array([1, 2, 3, 4]),
               thumbnails=bitmaps[truth][1:5].reshape(4, 28, 28), meanings=("cat",), meaning_scores=np.ones(1))
        for truth in ("cat", "car")
    ]
    fig = plotting.answer_gallery(queries, answers, ["cat", "car"])
    assert len(fig.axes) == 2 * 5
    assert fig.axes[0].get_title() == "query: cat" and fig.axes[3].get_title() == "dog 3"
    frame = fig.axes[3].spines["top"]
    assert frame.get_visible() and frame.get_edgecolor()[:3] != fig.axes[1].spines["top"].get_edgecolor()[:3]
    unlabelled = plotting.answer_gallery(queries, answers)
    assert unlabelled.axes[0].get_title() == "query" and not unlabelled.axes[1].spines["top"].get_visible()


# --- maps -----------------------------------------------------------------------------


def test_embedding_maps_and_label_map(label_cosines: tuple[np.ndarray, list[str]], pixel_search: tuple) -> None:
    from doodlekit.experiments import projection

    _, names = label_cosines
    labels = semantics.label_vectors("glove-6b-50d", names)
    coords = projection.label_map(labels.vectors)
    assert coords.shape == (len(names), 2) and coords.dtype == np.float32
    # a projection: map distances never exceed the true chord distances sqrt(2 (1 - cos))
    chords = np.sqrt(np.clip(2 * (1 - semantics.similarity_matrix(labels)), 0, None))
    assert (np.linalg.norm(coords[:, None] - coords[None], axis=-1) <= chords + 1e-5).all()
    # vectors that span a plane are mapped without distortion
    angles = np.radians([0, 50, 130, 200])
    planar = np.zeros((4, labels.dim))
    planar[:, 0], planar[:, 1] = np.cos(angles), np.sin(angles)
    flat = projection.label_map(planar * 3)  # lengths do not matter, only directions
    np.testing.assert_allclose(np.linalg.norm(flat[:, None] - flat[None], axis=-1),
                               np.linalg.norm(planar[:, None] - planar[None], axis=-1), atol=1e-5)
    pixels, point_labels = pixel_search
    cloud = pixels[:, :2] + np.repeat(np.arange(4), 12)[:, None] * 100
    fig = plotting.embedding_maps({"points": (cloud, point_labels), "labels": (coords, np.arange(len(names)))},
                                  names)
    assert [ax.get_title() for ax in fig.axes] == ["points", "labels"]
    # each class named once per panel
    assert sorted(tick_texts(fig.axes[0].texts)) == sorted(names[:4])
    assert sorted(tick_texts(fig.axes[1].texts)) == sorted(names)


@pytest.fixture(scope="module")
def lesson_maps() -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """The lesson's 15 names, their label map (15, 2), and a point cloud (300, 2) with labels (300,):
    noisy blobs around the label map, rotated, mirrored, scaled and shifted as a UMAP might be."""
    from doodlekit.experiments import projection
    from doodlekit.experiments import LESSON

    names = list(LESSON.categories)
    reference = projection.label_map(semantics.label_vectors("glove-6b-50d", names).vectors)
    labels = np.repeat(np.arange(len(names)), 20)
    turn = np.array([[np.cos(2.0), -np.sin(2.0)], [np.sin(2.0), np.cos(2.0)]]) @ np.diag([1.0, -1.0])
    noise = np.random.default_rng(0).standard_normal((len(labels), 2))
    cloud = reference[labels] @ turn * 7 + [30, -5] + 0.2 * noise
    return names, reference, cloud, labels


def test_embedding_maps_align_to_the_label_map(lesson_maps: tuple) -> None:
    names, reference, cloud, labels = lesson_maps
    ref_labels = np.arange(len(names))

    def centre_error(coords: np.ndarray) -> float:
        return float(np.linalg.norm(plotting.class_centres(coords, labels)[1] - reference))

    aligned = plotting.align_map(cloud, labels, reference, ref_labels)
    assert centre_error(aligned) < 0.05 * centre_error(cloud) and centre_error(aligned) < 0.1
    # only turned, mirrored, scaled and shifted: distance ratios within the map are kept
    ratio = np.linalg.norm(aligned[1:] - aligned[:-1], axis=1) / np.linalg.norm(cloud[1:] - cloud[:-1], axis=1)
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)
    two_classes = plotting.align_map(cloud[:40], labels[:40], reference, ref_labels)
    np.testing.assert_array_equal(two_classes, cloud[:40])  # fewer than 3 shared classes: unchanged

    maps = {"cloud": (cloud, labels), "label map": (reference, ref_labels)}
    drawn = plotting.embedding_maps(maps, names).axes[0].collections[0].get_offsets()
    np.testing.assert_allclose(drawn, aligned)  # the label map is the reference by default
    unaligned = plotting.embedding_maps(maps, names, align=False).axes[0].collections[0].get_offsets()
    np.testing.assert_allclose(unaligned, cloud)
    assert centre_error(np.asarray(drawn)) < centre_error(np.asarray(unaligned))
    flipped = plotting.embedding_maps(maps, names, reference="cloud")
    np.testing.assert_allclose(flipped.axes[0].collections[0].get_offsets(), cloud)  # the reference stays put
    with pytest.raises(ValueError, match="'umap' is not a panel"):
        plotting.embedding_maps(maps, names, reference="umap")


def test_embedding_maps_colour_by_family_with_one_palette(lesson_maps: tuple) -> None:
    names, reference, cloud, labels = lesson_maps
    maps = {"cloud": (cloud, labels), "label map": (reference, np.arange(len(names)))}
    first, second = plotting.embedding_maps(maps, names), plotting.embedding_maps({"again": (cloud, labels)}, names)
    colours = first.axes[0].collections[0].get_facecolors()[:, :3]
    np.testing.assert_allclose(colours, [plotting.category_colour(names[c]) for c in labels])
    np.testing.assert_allclose(second.axes[0].collections[0].get_facecolors()[:, :3], colours)  # same palette
    assert first.axes[0].collections[0].get_facecolors()[0, 3] >= 0.7  # opaque enough to see
    (legend,) = first.legends
    assert tick_texts(legend.get_texts()) == ["animals", "vehicles", "fruit", "sky", "shapes"]
    for ax in first.axes:  # every class named once, names kept apart
        assert sorted(tick_texts(ax.texts)) == sorted(names)
        boxes = [text.get_window_extent() for text in ax.texts]
        overlaps = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b)]
        assert not overlaps
    assert not plotting.embedding_maps(maps, names, legend=False, label_points=False).legends


def test_projection_helpers_sample_and_centroids(pixel_search: tuple[np.ndarray, np.ndarray]) -> None:
    from doodlekit.experiments import projection

    pixels, labels = pixel_search
    rows = projection.balanced_sample(labels, n=20, seed=0)
    assert len(rows) == 20 and np.bincount(labels[rows]).tolist() == [5, 5, 5, 5]
    assert (np.diff(rows) > 0).all()
    np.testing.assert_array_equal(rows, projection.balanced_sample(labels, n=20, seed=0))
    assert len(projection.balanced_sample(labels, n=1000)) == len(labels)  # all there are
    cosines = projection.centroid_cosines(pixels, labels, 4)
    assert cosines.shape == (4, 4)
    np.testing.assert_allclose(np.diag(cosines), 1.0, atol=1e-6)
    with pytest.raises(ValueError, match="every one of the 5 classes"):
        projection.centroid_cosines(pixels, labels, 5)
    with pytest.raises(ValueError, match="balanced_sample"):
        projection.umap_2d(np.zeros((projection.MAX_POINTS + 1, 2)))
