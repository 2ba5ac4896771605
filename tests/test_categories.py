"""The 345 official names, the default lists and name validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from doodlekit.data import (
    CATEGORIES,
    DEFAULT_CATEGORIES,
    UNTUNED_CATEGORIES,
    suggest,
    validate_categories,
    validate_category,
)
from doodlekit.errors import UnknownCategoryError


def test_names_are_the_official_345(mirror: Path) -> None:
    official = (mirror / "categories.txt").read_text().splitlines()
    assert len(CATEGORIES) == 345
    assert list(CATEGORIES) == [name for name in official if name]


def test_default_lists_are_disjoint_and_have_bitmaps_in_the_mirror(mirror: Path) -> None:
    assert not set(DEFAULT_CATEGORIES) & set(UNTUNED_CATEGORIES)
    with_bitmaps = {path.stem for path in (mirror / "numpy_bitmap").glob("*.npy")}
    assert set(DEFAULT_CATEGORIES) | set(UNTUNED_CATEGORIES) == with_bitmaps


@pytest.mark.parametrize("name", ["cat", "hot dog", "The Mona Lisa", "aircraft carrier"])
def test_valid_names_pass_unchanged(name: str) -> None:
    assert validate_category(name) == name


@pytest.mark.parametrize(
    ("typo", "meant"),
    [("hot-dog", "hot dog"), ("hot_air_balloon", "hot air balloon"), ("the mona lisa", "The Mona Lisa"),
     ("Cat", "cat"), ("aeroplane", "airplane"), ("sea-turtle", "sea turtle")],
)
def test_misspelt_name_fails_with_the_closest_valid_name(typo: str, meant: str) -> None:
    assert suggest(typo)[0] == meant
    with pytest.raises(UnknownCategoryError, match=f'did you mean "{meant}"'):
        validate_category(typo)


def test_nonsense_name_says_where_the_names_are() -> None:
    assert suggest("xyzzy qwerty") == []
    with pytest.raises(UnknownCategoryError, match="CATEGORIES lists the 345 official names") as info:
        validate_category("xyzzy qwerty")
    assert "did you mean" not in str(info.value)


def test_non_string_name_is_rejected() -> None:
    with pytest.raises(UnknownCategoryError, match="strings"):
        validate_category(3)  # type: ignore[arg-type]


def test_comma_separated_string_and_lists() -> None:
    assert validate_categories("cat, dog ,hot air balloon") == ["cat", "dog", "hot air balloon"]
    assert validate_categories(("bee", "cat")) == ["bee", "cat"]


@pytest.mark.parametrize(("names", "message"), [("", "no categories"), ("cat,dog,cat", "listed twice: cat"),
                                                (["cat", "hot-dog"], 'did you mean "hot dog"')])
def test_bad_lists_fail_at_once(names: str | list[str], message: str) -> None:
    with pytest.raises(UnknownCategoryError, match=message):
        validate_categories(names)
