"""The doodle pad without a browser: the same handlers the canvas events call, real drawings."""

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
from doodlekit.data import load_drawings, rasterize
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
def cat(mirror: Path) -> list:
    """A real simplified drawing of a cat (the mirror's first record), scaled to the pad."""
    return scale_to_pad(load_drawings("cat", 1)[0]["drawing"], SIZE)


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


def test_real_drawing_through_canvas_events(pad: DoodlePad, search: DoodleSearch, cat: list) -> None:
    assert pad.answer is None and "Draw a doodle" in pad.predictions.value
    for done, stroke in enumerate(cat, start=1):
        _drag(pad, stroke)
        assert len(pad.recorder.strokes) == done and not pad.recorder.drawing
        assert f'data-strokes="{done}"' in pad.predictions.value, "no answer after the stroke"
    bitmap = pad.recorder.to_bitmap()
    original = rasterize(load_drawings("cat", 1)[0]["drawing"])
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
    assert len(pad.recorder.strokes) == 2
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
