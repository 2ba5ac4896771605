"""The doodle pad without a browser: the same handlers the canvas events call, real drawings.

Every drawing is one the tiny lesson model never trained on: a raw cat that matches none of its training
or validation bitmaps, and categories outside its six.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import ipycanvas
import numpy as np
import pytest
from ipycanvas import Canvas
from ipycanvas.canvas import COMMANDS
from PIL import Image
from test_search import TINY, tiny_artifacts_dir

from doodlekit.apps import (
    MAX_POINTS,
    MAX_POINTS_PER_STROKE,
    MAX_STROKES,
    DoodlePad,
    DoodleSearch,
    StrokeRecorder,
    reannounce_canvas,
    scale_to_pad,
)
from doodlekit.data import get_settings, load_bitmaps, load_drawings, rasterize, split_indices
from doodlekit.errors import DataNotFoundError
from doodlekit.experiments import lessons

SIZE = 280


@pytest.fixture(scope="module")
def search(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> Iterator[DoodleSearch]:
    """The tiny lesson's search (trained once per session, shared with test_search.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(lessons.ENV_VAR, str(tiny_artifacts_dir(tmp_path_factory)))
        yield lessons.doodle_search(**TINY)


@pytest.fixture
def pad(search: DoodleSearch) -> DoodlePad:
    return DoodlePad(search, size=SIZE)


def _event(pad: DoodlePad, event: str, **content: object) -> None:
    """Deliver a frontend event to the pad's canvas exactly as a browser's comm message would.

    The tests' only use of ipycanvas internals (the kit's own is :func:`reannounce_canvas`): ipycanvas
    has no public way to simulate a browser event.
    """
    handle = getattr(pad.canvas, "_handle_frontend_event", None)
    assert handle is not None, (
        f"ipycanvas {ipycanvas.__version__} has no Canvas._handle_frontend_event, through which these tests "
        "send browser events; update _event for this ipycanvas"
    )
    handle(None, {"event": event, **content}, [])


def _drag(pad: DoodlePad, stroke: list) -> None:
    """One stroke as mouse_down, mouse_move..., mouse_up events in canvas pixels."""
    xs, ys = stroke[0], stroke[1]
    _event(pad, "mouse_down", x=xs[0], y=ys[0])
    for x, y in zip(xs[1:], ys[1:]):
        _event(pad, "mouse_move", x=x, y=y)
    _event(pad, "mouse_up", x=xs[-1], y=ys[-1])


@pytest.fixture(scope="module")
def limited(search: DoodleSearch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DoodleSearch]:
    """A second copy of the tiny search that says "not sure" and guesses among all 345 names."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(lessons.ENV_VAR, str(tiny_artifacts_dir(tmp_path_factory)))
        trained = lessons.trained(**TINY)
        yield lessons.doodle_search(**TINY).know_limits(trained.dataset("val").images)


def unseen_raw(category: str, n: int = 1) -> list[list]:
    """The first ``n`` raw drawings of ``category`` that the tiny model neither trained nor validated on: none
    matches one of its training or validation rows within :data:`~doodlekit.experiments.lessons.SAME_DRAWING`
    (as :func:`~doodlekit.experiments.lessons.unseen_drawings` does for the lesson's model)."""
    rows = load_bitmaps(category, TINY["per_class"], progress=False).reshape(-1, 28, 28).astype(np.int16)
    seen = rows[np.concatenate([split_indices(len(rows), category, split, seed=0) for split in ("train", "val")])]
    unseen = []
    for record in load_drawings(category, lessons.STROKE_ROWS, fmt="raw", progress=False):
        if np.abs(seen - rasterize(record["drawing"], fmt="raw")).mean(axis=(1, 2)).min() > lessons.SAME_DRAWING:
            unseen.append(record["drawing"])
            if len(unseen) == n:
                return unseen
    pytest.fail(f"fewer than {n} raw {category} drawings are outside the tiny model's training and validation rows")


@pytest.fixture(scope="module")
def cat_drawing(mirror: Path) -> list:
    """A real raw drawing of a cat that no lesson model trained on (canvas pixels)."""
    return unseen_raw("cat")[0]


@pytest.fixture(scope="module")
def cat(cat_drawing: list) -> list:
    """That cat, scaled to the pad."""
    return scale_to_pad(cat_drawing, SIZE, box=None)


def test_recorder_records_clips_and_decimates() -> None:
    recorder = StrokeRecorder(100)
    assert recorder.begin(10, 10) == (10.0, 10.0)
    assert recorder.extend(10.5, 10) is None  # closer than MIN_STEP to the last point
    assert recorder.extend(50, 50) == ((10.0, 10.0), (50.0, 50.0))
    assert recorder.extend(500, -20) == ((50.0, 50.0), (100.0, 0.0))  # clipped to the pad
    assert recorder.extend(float("nan"), 3) is None
    assert recorder.end() and not recorder.end()
    assert recorder.extend(20, 20) is None  # no open stroke
    assert recorder.to_drawing() == [[[10.0, 50.0, 100.0], [10.0, 50.0, 0.0]]]


def test_recorder_bounds_points_and_strokes() -> None:
    recorder = StrokeRecorder(SIZE)
    recorder.begin(0, 0)
    for i in range(3 * MAX_POINTS_PER_STROKE):
        recorder.extend((i * 7) % SIZE, (i * 13) % SIZE)
    assert len(recorder.strokes[0]) == recorder.points == MAX_POINTS_PER_STROKE
    for i in range(2 * MAX_STROKES):
        recorder.begin(i % SIZE, 5)
        recorder.end()
    assert len(recorder.strokes) == MAX_STROKES and recorder.is_full
    assert recorder.begin(1, 1) is None
    recorder.clear()
    while not recorder.is_full:
        recorder.begin(0, 0)
        for i in range(MAX_POINTS_PER_STROKE):
            recorder.extend((i * 7) % SIZE, (i * 13) % SIZE)
    assert recorder.points == sum(map(len, recorder.strokes)) == MAX_POINTS
    assert recorder.undo() and not recorder.is_full and recorder.points == sum(map(len, recorder.strokes))


def test_recorder_rejects_a_tiny_pad() -> None:
    with pytest.raises(ValueError, match="at least 28 pixels"):
        StrokeRecorder(10)


def test_scale_to_pad_keeps_the_margin() -> None:
    strokes = scale_to_pad([[[0, 255], [255, 0]]], 200, margin=0.1)
    assert strokes == [[[20.0, 180.0], [180.0, 20.0]]]


def test_real_drawing_through_canvas_events(pad: DoodlePad, search: DoodleSearch, cat: list, cat_drawing: list) -> None:
    assert pad.answer is None and "Draw a doodle" in pad.predictions.value
    for done, stroke in enumerate(cat, start=1):
        _drag(pad, stroke)
        assert len(pad.recorder.strokes) == done and not pad.recorder.drawing
        assert f'data-strokes="{done}"' in pad.predictions.value, "no answer after the stroke"
        np.testing.assert_array_equal(pad.recorder.to_bitmap(), rasterize(pad.recorder.to_drawing(), fmt="raw"))
    bitmap = pad.recorder.to_bitmap()
    original = rasterize(cat_drawing, fmt="raw")
    overlap = ((bitmap > 127) & (original > 127)).sum() / ((bitmap > 127) | (original > 127)).sum()
    assert overlap > 0.9, f"the pad's bitmap matches the dataset rasterisation only {overlap:.2f} (IoU)"
    expected = search.answer(bitmap)
    assert pad.answer.labels == expected.labels and len(expected.labels) == 5
    np.testing.assert_array_equal(pad.answer.neighbor_ids, expected.neighbor_ids)
    for label in expected.labels:
        assert f'data-label="{label}"' in pad.predictions.value
    assert pad.neighbours.value.count("<img") == len(expected.neighbor_ids)
    assert all(name in pad.meanings.value for name in expected.meanings)
    seen = np.asarray(Image.open(io.BytesIO(pad.seen.value)))
    np.testing.assert_array_equal(seen[::3, ::3], bitmap)


def test_undo_and_clear(pad: DoodlePad, cat: list) -> None:
    _drag(pad, cat[0])
    first = (pad.recorder.to_bitmap(), pad.answer.labels)
    _drag(pad, cat[1])
    _drag(pad, [[0, SIZE], [0, SIZE]])  # grows the drawing's box: every stroke is simplified again
    assert len(pad.recorder.strokes) == 3
    np.testing.assert_array_equal(pad.recorder.to_bitmap(), rasterize(pad.recorder.to_drawing(), fmt="raw"))
    pad.undo()
    np.testing.assert_array_equal(pad.recorder.to_bitmap(), rasterize(pad.recorder.to_drawing(), fmt="raw"))
    pad.undo()
    np.testing.assert_array_equal(pad.recorder.to_bitmap(), first[0])
    assert pad.answer.labels == first[1] and 'data-strokes="1"' in pad.predictions.value
    pad.clear()
    assert pad.recorder.is_empty and pad.answer is None and "Draw a doodle" in pad.predictions.value
    assert pad.neighbours.value == "" and not np.asarray(Image.open(io.BytesIO(pad.seen.value))).any()
    pad.undo()  # nothing left to undo: still the hint, no error
    assert pad.answer is None


def test_stray_events_draw_nothing(pad: DoodlePad) -> None:
    _event(pad, "mouse_move", x=10, y=10)
    _event(pad, "mouse_up", x=20, y=20)
    _event(pad, "touch_end", touches=[])
    assert pad.recorder.is_empty and pad.answer is None
    _event(pad, "mouse_down", x=30, y=30)
    _event(pad, "mouse_move", x=200, y=40)
    _event(pad, "mouse_out", x=SIZE + 50, y=45)  # leaving the canvas ends the stroke, clipped
    assert not pad.recorder.drawing and pad.recorder.strokes[0][-1] == (SIZE, 45.0)
    _event(pad, "mouse_move", x=100, y=100)
    assert len(pad.recorder.strokes[0]) == 3 and pad.answer is not None


def test_touch_draws_like_the_mouse(pad: DoodlePad, search: DoodleSearch, cat: list) -> None:
    for xs, ys in cat:
        _event(pad, "touch_start", touches=[{"x": xs[0], "y": ys[0]}])
        for x, y in zip(xs[1:], ys[1:]):
            _event(pad, "touch_move", touches=[{"x": x, "y": y}, {"x": 0, "y": 0}])
        _event(pad, "touch_end", touches=[])
    mouse = DoodlePad(search, size=SIZE)
    for stroke in cat:
        _drag(mouse, stroke)
    assert pad.recorder.strokes == mouse.recorder.strokes and pad.answer.labels == mouse.answer.labels


def test_absurd_input_is_bounded(pad: DoodlePad, search: DoodleSearch) -> None:
    rng = np.random.default_rng(0)
    wild = rng.uniform(-1e6, 1e6, size=(5_000, 2))
    wild[::97] = np.nan
    _event(pad, "mouse_down", x=-5e9, y=7e9)
    for x, y in wild:
        _event(pad, "mouse_move", x=x, y=y)
    _event(pad, "mouse_up", x=1e12, y=-1e12)
    points = np.array(pad.recorder.strokes[0])
    assert len(points) == MAX_POINTS_PER_STROKE and points.min() >= 0 and points.max() <= SIZE
    assert len(pad.answer.labels) == 5
    many = DoodlePad(search, size=SIZE)
    for i in range(MAX_STROKES + 3):
        _drag(many, [[i, i + 20], [5, 5]])
    assert len(many.recorder.strokes) == MAX_STROKES and "Undo or Clear" in many.predictions.value
    many.undo()
    assert len(many.recorder.strokes) == MAX_STROKES - 1 and 'data-strokes="63"' in many.predictions.value


def _sent_commands(canvas: Canvas, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The drawing commands ipycanvas sends to the browser from now on, recorded instead of sent."""
    sent: list = []
    monkeypatch.setattr(canvas._canvas_manager, "_send_custom", lambda command, buffers=(): sent.append(command))
    return sent


def _command_ids(sent: list) -> list[int]:
    return [entry[0] for message in sent for entry in (message if isinstance(message[0], list) else [message])]


def test_reannounce_canvas_makes_ipycanvas_switch_to_the_canvas_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guard of the kit's one use of ipycanvas internals: fails, naming the version, if they change."""
    canvas = Canvas(width=10, height=10)
    canvas.fill_rect(0, 0, 1, 1)  # now the current target: ipycanvas would not announce it again
    sent = _sent_commands(canvas, monkeypatch)
    canvas.fill_rect(0, 0, 1, 1)
    assert COMMANDS["switchCanvas"] not in _command_ids(sent)
    reannounce_canvas(canvas)
    canvas.fill_rect(0, 0, 1, 1)
    assert _command_ids(sent)[-2:] == [COMMANDS["switchCanvas"], COMMANDS["fillRect"]], (
        f"ipycanvas {ipycanvas.__version__} no longer announces the canvas after reannounce_canvas; "
        "update doodlekit.apps.pad.reannounce_canvas for this version"
    )


def test_reannounce_canvas_names_the_ipycanvas_version_when_its_internals_are_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    canvas = Canvas(width=10, height=10)
    monkeypatch.delattr(canvas._canvas_manager, "_current_canvas")  # as a release without it would be
    with pytest.raises(RuntimeError, match=rf"ipycanvas {ipycanvas.__version__} has no .*_current_canvas"):
        reannounce_canvas(canvas)


def test_a_new_browser_view_gets_the_canvas_announced_and_repainted(
    pad: DoodlePad, cat: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    _drag(pad, cat[0])
    sent = _sent_commands(pad.canvas, monkeypatch)
    _event(pad, "client_ready")
    commands = _command_ids(sent)
    assert commands[0] == COMMANDS["switchCanvas"], "the canvas was not re-announced to the new view"
    assert COMMANDS["fillRect"] in commands and COMMANDS["strokeLines"] in commands


def test_a_fast_stroke_is_inked_in_a_few_messages(pad: DoodlePad, monkeypatch: pytest.MonkeyPatch) -> None:
    sent = _sent_commands(pad.canvas, monkeypatch)
    xs = [float(10 + i % 250) for i in range(300)]
    _drag(pad, [xs, [float(10 + (i * 7) % 250) for i in range(300)]])
    lines = _command_ids(sent).count(COMMANDS["strokeLines"])
    assert 1 <= lines < 30, f"{lines} polylines sent for a 300-point stroke drawn at once"
    assert len(pad.recorder.strokes[0]) == 300 and pad._ink == []


def test_unseen_categories_get_not_sure_and_a_zero_shot_guess(limited: DoodleSearch) -> None:
    assert limited.open_set is not None and limited.all_labels is not None and len(limited.all_labels.categories) == 345
    assert 0 <= limited.zero_shot_top10 <= 1
    refused = 0
    for category in ("house", "tree", "lion"):  # none of the tiny model's six categories
        for drawing in unseen_raw(category, 3):
            pad = DoodlePad(limited, size=SIZE)
            answer = pad.draw(scale_to_pad(drawing, SIZE, box=None))
            assert answer.unsure == (answer.confidence < limited.open_set.threshold)
            assert f'data-unsure="{str(answer.unsure).lower()}"' in pad.predictions.value
            assert ("Not sure" in pad.predictions.value) == answer.unsure
            assert len(answer.zero_shot) == 5 and set(answer.zero_shot) <= set(limited.all_labels.categories)
            assert "Among all 345 names" in pad.meanings.value and "zero-shot guess" in pad.meanings.value
            assert all(f"{name} (" in pad.meanings.value for name in answer.zero_shot)
            refused += answer.unsure
    assert refused >= 5, f"only {refused} of 9 drawings of unseen categories got 'not sure'"


def test_pad_from_a_trained_model(tmp_path_factory: pytest.TempPathFactory) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(lessons.ENV_VAR, str(tiny_artifacts_dir(tmp_path_factory)))
        trained = lessons.trained(**TINY)
    pad = DoodlePad.from_trained(trained)
    assert pad.search.categories == list(TINY["categories"]) and len(pad.search.gallery) == len(trained.dataset("test"))
    assert pad.search.open_set is not None and pad.search.all_labels is not None
    answer = pad.draw(scale_to_pad(unseen_raw("house")[0], SIZE, box=None))
    assert answer is not None and len(answer.zero_shot) == 5


def test_know_limits_without_held_out_drawings_says_what_to_fetch(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(lessons.ENV_VAR, str(tiny_artifacts_dir(tmp_path_factory)))
        search = lessons.doodle_search(**TINY)
    (tmp_path / "mirror").mkdir()
    offline = get_settings(data_dir=tmp_path / "mirror", cache_dir=tmp_path / "cache", base_url="http://127.0.0.1:9")
    with pytest.raises(DataNotFoundError, match=r"none of the \d+ held-out categories .* fetch them first"):
        search.know_limits(np.zeros((3, 28, 28), dtype=np.uint8), settings=offline)
    assert search.open_set is None
