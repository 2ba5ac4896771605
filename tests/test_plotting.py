"""Quick tests of doodlekit.plotting on real drawings and label vectors: each helper returns the
figure it promises (panels, labels, lines), without looking at pixels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from doodlekit import plotting, semantics
from doodlekit.data import (
    DEFAULT_CATEGORIES,
    FAMILIES,
    OTHER_FAMILY,
    UNTUNED_CATEGORIES,
    family,
    quickdraw,
    raster,
)
from doodlekit.model import VARIANTS

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def bitmaps(mirror: Path) -> dict[str, np.ndarray]:
    return {name: quickdraw.load_bitmaps(name, n=12, progress=False) for name in ("cat", "dog", "car", "moon")}


@pytest.fixture(scope="module")
def cat_drawing(mirror: Path) -> tuple[list, list]:
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


def test_every_shade_stays_within_its_family_hue() -> None:
    """A shade only moves lightness: same CIELAB hue, at least 85% of the chroma, and nearer its own
    family's colour than any other family's (banana was once a brown close to "things")."""
    from doodlekit.plotting.style import _to_lab

    bases = {fam: _to_lab(matplotlib.colors.to_rgb(colour)) for fam, colour in plotting.FAMILY_COLOURS.items()}
    for fam, members in FAMILIES.items():
        base = bases[fam]
        for name in members:
            lab = _to_lab(plotting.category_colour(name))
            hue = np.degrees(np.arctan2(lab[2], lab[1]) - np.arctan2(base[2], base[1]))
            assert abs((hue + 180) % 360 - 180) < 1.0, name
            assert np.hypot(*lab[1:]) >= 0.84 * np.hypot(*base[1:]), name
            distances = {other: np.linalg.norm(lab - colour) for other, colour in bases.items()}
            assert min(distances, key=distances.get) == fam, (name, distances)
            assert abs(lab[0] - base[0]) <= 25.01, name
    # banana: a darker orange, clearly not the brown of "things"
    banana, apple = _to_lab(plotting.category_colour("banana")), bases["fruit"]
    assert 8 < apple[0] - banana[0] < 20 and np.linalg.norm(banana - bases["things"]) > 40


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
    # the colour scale shows the contrast among mostly positive cosines; a readable bar right of the names
    mesh = grid.ax_heatmap.collections[0]
    assert mesh.norm.vmin == pytest.approx(-0.2) and mesh.norm.vmax == 1.0
    assert grid.ax_cbar.get_ylabel() == "cosine of label vectors" and grid.ax_cbar.get_title() == ""
    grid.figure.canvas.draw()
    renderer = grid.figure.canvas.get_renderer()
    bar = grid.ax_cbar.get_window_extent(renderer)
    assert bar.height >= 1.5 * plotting.DPI and bar.width >= 0.1 * plotting.DPI  # inches, at the module's DPI
    assert bar.x0 > max(t.get_window_extent(renderer).x1 for t in grid.ax_heatmap.get_yticklabels())
    assert grid.ax_cbar.get_tightbbox(renderer).x1 <= grid.figure.bbox.width
    assert all(t.get_fontsize() >= 7 for t in grid.ax_cbar.get_yticklabels())
    wide = plotting.similarity_clustermap(np.where(cosines < 0.9, cosines - 0.5, cosines), names, families=False)
    assert wide.ax_heatmap.collections[0].norm.vmin < -0.2  # more than 1% below -0.2: from the 1st percentile
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


def test_pair_scatter_labels_its_outliers_readably() -> None:
    """Notebook 02's scatter (GloVe against GoogleNews, 24 names): the labels of the outlying pairs are
    >= 7 pt, overlap neither each other nor any dot, and point to their dot when set off from it."""
    glove = semantics.label_vectors("glove-6b-50d", DEFAULT_CATEGORIES)
    news = semantics.label_vectors("googlenews-quickdraw345", DEFAULT_CATEGORIES)
    ax = plotting.pair_scatter(semantics.similarity_matrix(glove), semantics.similarity_matrix(news),
                               glove.categories, annotate=4)
    renderer = ax.figure.canvas.get_renderer()
    boxes = [text.get_window_extent(renderer) for text in ax.texts]
    assert len(boxes) == 4 and all(text.get_fontsize() >= 7 for text in ax.texts)
    assert not [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b)]
    dots = ax.transData.transform(ax.collections[0].get_offsets())
    assert not any(box.contains(*dot) for box in boxes for dot in dots)
    ringed = ax.transData.transform(ax.collections[1].get_offsets())  # the labelled pairs, ringed
    assert len(ringed) == 4
    far = [box for box, dot in zip(boxes, ringed)
           if np.hypot(max(box.x0 - dot[0], 0, dot[0] - box.x1), max(box.y0 - dot[1], 0, dot[1] - box.y1)) > 8]
    lines = ax.get_lines()
    assert len(far) <= len(lines) <= 4  # a leader line for each label set off from its dot, from the dot
    starts = ax.transData.transform([line.get_xydata()[0] for line in lines]) if lines else np.empty((0, 2))
    assert all(np.linalg.norm(ringed - start, axis=1).min() < 1 for start in starts)


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
    curves = [[line for line in ax.get_lines() if line.get_transform() != ax.transAxes] for ax in fig.axes]
    assert [len(lines) for lines in curves] == [3, 3, 1, 0]  # "ce" and "mine" have no val_cos_true
    np.testing.assert_allclose(curves[1][0].get_ydata(), [0.6, 0.7, 0.8])
    # equal curves stay visible: each run its own line style and marker, broken lines drawn over the solid one
    ce, adaptive, _ = curves[0]
    assert ce.get_linestyle() == "--" and adaptive.get_linestyle() == "-"
    assert len({line.get_marker() for line in curves[0]}) == 3
    assert ce.get_zorder() > adaptive.get_zorder() and ce.get_linewidth() < adaptive.get_linewidth()
    assert adaptive.get_alpha() < 1
    # a y axis that does not start at 0 says so (label and break mark); the others start at 0
    bottom = fig.axes[1].get_ylim()[0]
    assert bottom > 0 and fig.axes[1].get_ylabel() == f"(axis starts at {bottom:.2f})"
    assert len([line for line in fig.axes[1].get_lines() if line.get_transform() == fig.axes[1].transAxes]) == 2
    assert fig.axes[0].get_ylim()[0] == 0 and fig.axes[0].get_ylabel() == ""
    assert plotting.training_curves({"ce": records}, metrics=("val_top1",), from_zero=True).axes[0].get_ylim()[0] == 0
    # the legend sits under the "epoch" labels, never over them
    renderer = fig.canvas.get_renderer()
    assert [ax.get_xlabel() for ax in fig.axes] == ["epoch"] * 4
    legend_top = fig.legends[0].get_window_extent(renderer).y1
    assert all(legend_top <= ax.xaxis.label.get_window_extent(renderer).y0 for ax in fig.axes)
    (legend,) = fig.legends  # one legend for all panels, variants by their names, other runs as given
    assert tick_texts(legend.get_texts()) == ["CE", "adaptive margin", "mine"]
    assert matplotlib.colors.to_hex(fig.axes[2].get_lines()[0].get_color()) == matplotlib.colors.to_hex(
        VARIANTS["adaptive_margin"].colour)
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
    coded = [line for line in ax.get_lines() if line.get_marker() == "o"]
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert [line.get_linestyle() for line in coded] == ["-", ":"] and len(dashed) == 2  # LSH codes dotted
    np.testing.assert_allclose(coded[0].get_ydata(), [reports["itq"].hashed[b].map for b in (8, 16, 32)])
    assert ax.get_xlabel() == "code length (bits)"
    # a zoomed y axis says where it starts, and shows a break mark (two slashes) at its foot
    bottom = ax.get_ylim()[0]
    assert bottom > 0 and ax.get_ylabel() == f"mAP@10  (axis starts at {bottom:.2f})"
    assert len([line for line in ax.get_lines() if line.get_transform() == ax.transAxes]) == 2
    (zero,) = plotting.map_vs_bits(reports, from_zero=True).axes
    assert zero.get_ylim()[0] == 0 and zero.get_ylabel() == "mAP@10"
    assert [line for line in zero.get_lines() if line.get_transform() == zero.transAxes] == []
    assert tick_texts(zero.get_legend().get_texts())[:2] == ["itq, ITQ codes", "itq, float cosine"]


def test_bits_figure_draws_spreads_and_gives_each_model_one_colour() -> None:
    curves = [plotting.BitsCurve("adaptive_margin", "ITQ", {64: 0.6, 16: 0.5}, {16: 0.01, 64: 0.02}),
              plotting.BitsCurve("adaptive_margin", "LSH", {16: 0.3, 64: None}),
              plotting.BitsCurve("mine", "ITQ", {16: 0.4, 64: 0.45})]
    (ax,) = plotting.bits_figure(curves, {"adaptive_margin": 0.62, "mine": None}, ylabel="mAP@100",
                                 from_zero=True).axes
    assert tick_texts(ax.get_legend().get_texts()) == [
        "adaptive margin, ITQ codes", "adaptive margin, LSH codes", "adaptive margin, float cosine", "mine, ITQ codes"]
    assert list(ax.get_xticks()) == [16, 64] and ax.get_ylabel() == "mAP@100"
    (bars,) = ax.containers  # error bars only where a spread is given
    np.testing.assert_allclose(bars.lines[0].get_ydata(), [0.5, 0.6])
    colours = [matplotlib.colors.to_hex(line.get_color()) for line in ax.get_lines() if line.get_marker() == "o"]
    assert colours == [matplotlib.colors.to_hex(c) for c in (VARIANTS["adaptive_margin"].colour,) * 2 + ("C1",)]


def test_bitmaps_are_checked_once_for_figures_search_and_inference() -> None:
    from doodlekit.data import as_bitmaps
    from doodlekit.model import as_pixels

    rows = np.arange(2 * 784).reshape(2, 784).astype(np.uint8)
    assert plotting.as_images(rows).shape == (2, 28, 28)
    assert plotting.as_images(rows[0].reshape(28, 28)).shape == (1, 28, 28)
    assert plotting.as_images(np.zeros((3, 64, 64), float)).shape == (3, 64, 64)  # figures take any size and dtype
    with pytest.raises(ValueError, match=r"bitmaps must be an \(N, h, w\) or \(N, 784\) or \(h, w\) array"):
        plotting.as_images(np.zeros(5))
    assert as_bitmaps(rows).shape == (2, 28, 28) and np.shares_memory(as_bitmaps(rows), rows)
    with pytest.raises(ValueError, match=r"gallery must be an \(N, 28, 28\) or \(N, 784\) uint8 array .* got "
                                         r"\(2, 784\) float32; pass dataset.images, load_bitmaps\(...\) rows, or one"):
        as_bitmaps(rows.astype(np.float32), "gallery")
    assert as_pixels(rows.reshape(2, 28, 28)).shape == (2, 1, 28, 28)
    with pytest.raises(ValueError, match=r"images must be an \(N, 28, 28\) uint8 array .* got \(2, 784\) uint8; "
                                         r"pass dataset.images, or one bitmap as image\[None\]"):
        as_pixels(rows)  # inference takes (N, 28, 28) only


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
    # a caption says what the numbers and the frames are, above every title; titles readable at the DPI
    (caption,) = fig.texts
    words = " ".join(caption.get_text().split())  # wrapped to the figure's width
    assert "Hamming distance to the query in bits" in words
    assert "green frame: same label as the query" in words and "red frame: another label" in words
    renderer = fig.canvas.get_renderer()
    assert caption.get_window_extent(renderer).y0 > max(ax.title.get_window_extent(renderer).y1 for ax in fig.axes)
    assert caption.get_window_extent(renderer).x1 <= fig.bbox.width
    assert all(ax.title.get_fontsize() >= 7 for ax in fig.axes) and caption.get_fontsize() >= 8
    # nothing overlaps: images, titles and caption each in their own place, all inside the figure
    boxes = [box for ax in fig.axes for box in (ax.get_window_extent(renderer), ax.title.get_window_extent(renderer))]
    boxes.append(caption.get_window_extent(renderer))
    assert not [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
                if boxes[i].overlaps(boxes[j]) and not (j == i + 1 and i % 2 == 0)]  # an image touches its title
    assert all(b.x0 >= 0 and b.y0 >= 0 and b.x1 <= fig.bbox.width and b.y1 <= fig.bbox.height for b in boxes)
    # queries without labels (lions): every row titled "query", no frames, and the caption says why
    unlabelled = plotting.answer_gallery(queries, answers)
    assert [ax.get_title() for ax in unlabelled.axes[::5]] == ["query", "query"]
    assert not unlabelled.axes[1].spines["top"].get_visible()
    words = " ".join(unlabelled.texts[0].get_text().split())
    assert "Hamming distance to the query in bits" in words and "no frames" in words
    assert "the queries have no label among the gallery's" in words
    assert plotting.answer_gallery(queries, answers, caption="mine").texts[0].get_text() == "mine"
    plain = plotting.query_gallery(queries, np.stack([a.thumbnails for a in answers]))
    assert not plain.texts  # no frames, no caption unless given


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
    from doodlekit.experiments import LESSON, projection

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


@pytest.mark.slow
def test_embedding_maps_keep_names_apart_on_the_lesson_models(mirror: Path) -> None:
    """Notebook 05's figure on real data: the lesson's reference models, UMAP of 2,400 training drawings.
    No two names overlap (renderer extents) or leave their panel, they cover hardly any point (none on
    this machine; 2 per panel allowed for UMAP's last digits elsewhere), and each sits by its island or
    has a leader line to it."""
    from doodlekit.experiments import lessons, projection
    from doodlekit.model import embed

    runs = {variant: lessons.trained(variant) for variant in ("ce", "adaptive_margin")}
    names = list(lessons.LESSON.categories)
    train = runs["adaptive_margin"].dataset("train")
    rows = projection.balanced_sample(train.targets, n=160 * len(names), seed=0)
    maps = {f"{variant} (UMAP)": (projection.umap_2d(embed(run.model, train.images[rows],
                                                               VARIANTS[variant].retrieves_with), seed=0),
                                  train.targets[rows]) for variant, run in runs.items()}
    labels = runs["adaptive_margin"].label_vectors
    maps["label vectors"] = (projection.label_map(labels.vectors), np.arange(len(names)))
    fig = plotting.embedding_maps(maps, names)
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        assert sorted(tick_texts(ax.texts)) == sorted(names)
        boxes = [text.get_window_extent(renderer) for text in ax.texts]
        assert not [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b)], ax.get_title()
        frame = ax.get_window_extent(renderer)
        assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 and frame.y0 <= b.y0 and b.y1 <= frame.y1 for b in boxes)
        points = ax.collections[0].get_offsets()
        pixels = ax.transData.transform(points)
        covered = sum(box.count_contains(pixels) for box in boxes)
        assert covered <= 2, (ax.get_title(), covered)
        ends = [ax.transData.transform(line.get_xydata()[-1]) for line in ax.get_lines()]  # leader lines' ends
        for text, box in zip(ax.texts, boxes):
            own = pixels[maps[ax.get_title()][1] == names.index(text.get_text())]
            gap = np.hypot(np.maximum(np.maximum(box.x0 - own[:, 0], own[:, 0] - box.x1), 0),
                           np.maximum(np.maximum(box.y0 - own[:, 1], own[:, 1] - box.y1), 0)).min()
            assert gap <= 16 or any(box.expanded(1.1, 1.3).contains(*end) for end in ends), text.get_text()


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
