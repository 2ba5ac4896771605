"""Doodles searching Animal-MNIST's silhouettes with the shipped lesson models."""

from __future__ import annotations

import numpy as np
import pytest

from doodlekit.data import CLASSES, load_bitmaps
from doodlekit.experiments import LESSON, crossdomain


def test_the_animals_split_into_those_drawn_for_the_lessons_and_the_rest() -> None:
    assert crossdomain.SEEN_ANIMALS == ("bird", "cat", "dog", "horse")
    assert set(crossdomain.SEEN_ANIMALS) <= set(LESSON.categories)
    assert len(crossdomain.UNSEEN_ANIMALS) == 6 and not set(crossdomain.UNSEEN_ANIMALS) & set(LESSON.categories)


@pytest.mark.usefixtures("mirror", "animal_mnist_dir")
def test_queries_are_drawings_the_lesson_models_never_saw() -> None:
    images, labels = crossdomain.doodle_queries(5)
    assert images.shape == (20, 28, 28) and [CLASSES[i] for i in labels[::5]] == list(crossdomain.SEEN_ANIMALS)
    cat = load_bitmaps("cat", LESSON.per_class + 5).reshape(-1, 28, 28)
    assert np.array_equal(images[labels == CLASSES.index("cat")], cat[LESSON.per_class:])
    outlined = crossdomain.silhouettes("outline")
    filled = crossdomain.silhouettes("filled")
    assert np.array_equal(outlined.labels, filled.labels) and len(filled.labels) == 1000
    assert (outlined.images > 127).mean() < (filled.images > 127).mean()  # a contour covers less than the body


@pytest.mark.slow
@pytest.mark.usefixtures("mirror", "animal_mnist_dir")
def test_doodles_find_silhouettes_above_chance() -> None:
    results = crossdomain.cross_domain(["adaptive_margin"], per_animal=50)["adaptive_margin"]
    _, labels = crossdomain.doodle_queries(50)
    chance = crossdomain.chance(crossdomain.silhouettes(), labels)
    for style, numbers in results.items():
        assert numbers["precision@10"] > 2 * chance["precision@10"], style
        assert all(0 <= value <= 1 for value in numbers.values())
    assert results["outline"]["map@100"] > results["filled"]["map@100"]
    frame = crossdomain.table({"adaptive_margin": results})
    assert list(frame.index) == [("adaptive margin", "filled"), ("adaptive margin", "outline")]


@pytest.mark.usefixtures("mirror", "animal_mnist_dir")
def test_the_pad_search_can_hold_silhouettes_with_their_own_labels(tmp_path) -> None:
    search = crossdomain.silhouette_search("adaptive_margin", "outline")
    assert search.gallery_categories == list(CLASSES) and search.categories == list(LESSON.categories)
    doodles, labels = crossdomain.doodle_queries(3)
    answer = search.answer(doodles[0], k=5)
    assert set(answer.neighbor_labels) <= set(CLASSES) and set(answer.labels) <= set(LESSON.categories)
    assert np.array_equal(answer.thumbnails, crossdomain.silhouettes("filled").images[answer.neighbor_ids])
    with pytest.raises(ValueError, match="other categories than the model's"):
        search.save(tmp_path / "s.npz")
    with pytest.raises(ValueError, match=r"in \[0, 15\)"):
        type(search).build(crossdomain.trained("ce"), doodles, labels + 15)
