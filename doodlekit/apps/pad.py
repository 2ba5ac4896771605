"""The live doodle pad: draw with mouse or finger, get answers after every stroke.

:class:`StrokeRecorder` holds the pure-Python stroke logic (no widgets, no browser),
:class:`DoodlePad` wires it to an ipycanvas canvas and a :class:`~doodlekit.apps.search.DoodleSearch`.
The pad captures strokes through the canvas's mouse and touch events in the kernel,
in canvas pixels (ipycanvas scales on-screen positions to canvas pixels), and turns
them into the 28x28 bitmap the dataset would hold for them: a
:class:`~doodlekit.data.raster.StrokeRaster`, equal to
:func:`doodlekit.data.raster.rasterize` (``fmt="raw"``) after every stroke, draws only
the new stroke while the drawing's box stays put and keeps every state for Undo.
"""

from __future__ import annotations

import base64
import html
import io
import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import ipycanvas
import ipywidgets as widgets
import numpy as np
from ipycanvas import Canvas, hold_canvas
from PIL import Image

from doodlekit.apps.search import Answer, DoodleSearch
from doodlekit.data.raster import BOX, StrokeRaster, rasterize
from doodlekit.data.settings import Settings
from doodlekit.model.variants import VARIANTS

if TYPE_CHECKING:  # serving code loads no training code (tests/test_architecture.py)
    from doodlekit.model.training import Trained

#: Most points kept per stroke; later points of a longer stroke are dropped. The raw
#: Quick, Draw! drawings of the lesson's categories have at most 371 points per stroke,
#: 605 points and 24 strokes in all: the caps leave room for people and stop runaway input.
MAX_POINTS_PER_STROKE = 500
#: Most points kept per drawing.
MAX_POINTS = 2_000
#: Most strokes per drawing; further strokes are refused until Undo or Clear.
MAX_STROKES = 64
#: Moves shorter than this (canvas pixels) from the last kept point are not recorded.
MIN_STEP = 1.0
#: Pen width on the pad, as a fraction of the pad side.
PEN_WIDTH = 0.025
#: Ink of a stroke in progress goes to the browser at most this often (seconds; about one screen frame):
#: moves in between are sent together as one polyline, so a fast dense stroke costs a few messages.
INK_INTERVAL_S = 0.016
#: On-screen enlargement of the 28x28 nearest-doodle thumbnails and of "what the model sees".
THUMB_SCALE = 2
SEEN_SCALE = 3


def reannounce_canvas(canvas: Canvas) -> None:
    """Make ipycanvas tell the browser again which canvas its next drawing commands are for.

    ipycanvas (0.14) sends every canvas's commands through one shared manager widget, which
    sends "switch to this canvas" only when the target canvas changes. A browser view that connects
    after the notebook ran (a Voila page, a reloaded notebook) never received it, so it ignores the
    commands that follow. ipycanvas has no public way to ask for it again; this forgets the manager's
    current target, a private attribute (``canvas._canvas_manager._current_canvas``), so the next
    command re-announces the canvas. The kit's only use of ipycanvas internals: its guard test in
    ``tests/test_pad.py`` fails, naming the installed version, when an ipycanvas release removes it.

    Raises:
        RuntimeError: this ipycanvas has no such attribute (the workaround needs updating).
    """
    manager = getattr(canvas, "_canvas_manager", None)
    if not hasattr(manager, "_current_canvas"):
        raise RuntimeError(
            f"ipycanvas {ipycanvas.__version__} has no Canvas._canvas_manager._current_canvas, which "
            "doodlekit.apps.pad.reannounce_canvas resets so that a late browser view (Voila) gets the canvas "
            "announced; update reannounce_canvas for this ipycanvas, or install ipycanvas 0.14."
        )
    manager._current_canvas = None


_HINT = "Draw a doodle in the box: the model answers after every stroke."
_FULL = f"The pad is full ({MAX_STROKES} strokes or {MAX_POINTS} points): Undo or Clear to draw more."


class StrokeRecorder:
    """Strokes drawn on a square pad of ``size`` pixels, bounded and clipped.

    Points are clipped to ``0..size``; non-finite points are ignored; each stroke
    keeps at most :data:`MAX_POINTS_PER_STROKE` points and a drawing at most
    :data:`MAX_POINTS` points in :data:`MAX_STROKES` strokes.

    Attributes:
        strokes: the strokes, each a list of (x, y) canvas pixels.
        drawing: True while a stroke is open (between begin and end).
        points: the number of points in all strokes.
    """

    def __init__(self, size: int) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 28:
            raise ValueError(f"the pad side must be an integer of at least 28 pixels, got {size!r}")
        self.size = size
        self.strokes: list[list[tuple[float, float]]] = []
        self.drawing = False
        self.points = 0
        self._raster = StrokeRaster(28)

    @property
    def is_empty(self) -> bool:
        """True when no stroke holds a point."""
        return not self.strokes

    @property
    def is_full(self) -> bool:
        """True when no new stroke can begin."""
        return len(self.strokes) >= MAX_STROKES or self.points >= MAX_POINTS

    def _clip(self, x: float, y: float) -> tuple[float, float] | None:
        x, y = float(x), float(y)
        if not (math.isfinite(x) and math.isfinite(y)):
            return None
        return min(max(x, 0.0), float(self.size)), min(max(y, 0.0), float(self.size))

    def begin(self, x: float, y: float) -> tuple[float, float] | None:
        """Start a stroke at (x, y) in pad pixels; returns the clipped point, or None if refused."""
        self.end()
        point = self._clip(x, y)
        if point is None or self.is_full:
            return None
        self.strokes.append([point])
        self.points += 1
        self.drawing = True
        return point

    def extend(self, x: float, y: float) -> tuple[tuple[float, float], tuple[float, float]] | None:
        """Add (x, y) to the open stroke; returns the new segment (start, end) to ink, or None."""
        point = self._clip(x, y)
        if not self.drawing or point is None:
            return None
        stroke = self.strokes[-1]
        last = stroke[-1]
        if len(stroke) >= MAX_POINTS_PER_STROKE or self.points >= MAX_POINTS or math.dist(last, point) < MIN_STEP:
            return None
        stroke.append(point)
        self.points += 1
        return last, point

    def end(self) -> bool:
        """Close the open stroke (and draw it on the kept bitmap); True if one was open."""
        was_drawing, self.drawing = self.drawing, False
        if was_drawing:
            stroke = self.strokes[-1]
            self._raster.push([[x for x, _ in stroke], [y for _, y in stroke]])
        return was_drawing

    def undo(self) -> bool:
        """Remove the last stroke (the bitmap before it comes back as it was); False when there is none."""
        self.drawing = False
        if not self.strokes:
            return False
        if len(self._raster.strokes) == len(self.strokes):
            self._raster.pop()
        self.points -= len(self.strokes.pop())
        return True

    def clear(self) -> None:
        """Remove every stroke."""
        self.strokes.clear()
        self._raster.clear()
        self.drawing = False
        self.points = 0

    def record(self, drawing: Sequence) -> StrokeRecorder:
        """Add whole strokes ``[[xs, ys], ...]`` (pad pixels) point by point, as a pen would; returns self."""
        for stroke in drawing:
            xs, ys = stroke[0], stroke[1]
            if len(xs):
                self.begin(xs[0], ys[0])
                for x, y in zip(xs[1:], ys[1:]):
                    self.extend(x, y)
                self.end()
        return self

    def to_drawing(self) -> list[list[list[float]]]:
        """The strokes in the dataset's raw layout: ``[[xs, ys], ...]`` in pad pixels."""
        return [[[x for x, _ in stroke], [y for _, y in stroke]] for stroke in self.strokes]

    def to_bitmap(self) -> np.ndarray:
        """What the model sees: (28, 28) uint8, ink 255 on paper 0 (all zeros when empty).

        ``rasterize(self.to_drawing(), fmt="raw")``, from the kept per-stroke bitmaps while no
        stroke is open.
        """
        if self.drawing:
            return rasterize(self.to_drawing(), fmt="raw")
        return self._raster.bitmap


def scale_to_pad(
    drawing: Sequence, size: float, margin: float = 0.1, box: float | None = BOX
) -> list[list[list[float]]]:
    """Map a drawing onto a pad of ``size`` pixels, as if someone had drawn it there.

    Args:
        drawing: strokes ``[xs, ys, ...]`` (timings, if any, are dropped).
        size: pad side, pixels (canvas or on-screen).
        margin: empty border on each side, as a fraction of ``size``.
        box: the drawing's coordinate range ``0..box``: 255 for the simplified files; ``None``
            for the drawing's own extent (raw files, whose coordinates are canvas pixels).

    Returns:
        Strokes ``[xs, ys]`` of floats in ``margin*size .. (1-margin)*size``.
    """
    origin = (0.0, 0.0)
    if box is None:
        xs = [x for stroke in drawing for x in stroke[0]]
        ys = [y for stroke in drawing for y in stroke[1]]
        origin = (min(xs), min(ys))
        box = max(max(xs) - origin[0], max(ys) - origin[1], 1.0)
    scale = size * (1 - 2 * margin) / box
    offset = size * margin
    return [
        [[offset + scale * (x - origin[0]) for x in stroke[0]], [offset + scale * (y - origin[1]) for y in stroke[1]]]
        for stroke in drawing
    ]


def _png(image: np.ndarray, scale: int) -> bytes:
    """PNG bytes of a (h, w) uint8 image enlarged ``scale`` times without smoothing."""
    picture = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8), mode="L")
    picture = picture.resize((image.shape[1] * scale, image.shape[0] * scale), Image.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def _predictions_html(answer: Answer, strokes: int, known: int) -> str:
    rows = "".join(
        f'<div class="dk-prediction" data-label="{html.escape(label)}" '
        'style="display:flex;align-items:center;gap:6px;margin:2px 0">'
        f'<span style="width:90px;text-align:right">{html.escape(label)}</span>'
        f'<span style="display:inline-block;height:12px;width:{120 * float(p):.0f}px;background:#4a7dbd"></span>'
        f"<span>{100 * float(p):.0f}%</span></div>"
        for label, p in zip(answer.labels, answer.probabilities)
    )
    header = f'<div class="dk-answer" data-strokes="{strokes}" data-unsure="{str(answer.unsure).lower()}" '
    if answer.unsure:
        return (
            f'{header}style="line-height:1.3"><b class="dk-unsure">Not sure: this may be none of the {known} '
            f'things I know.</b><div style="color:#777">My closest guesses:{rows}</div></div>'
        )
    return f'{header}style="line-height:1.3"><b>The model guesses</b>{rows}</div>'


def _neighbours_html(answer: Answer, thumbnail: Callable[[int, np.ndarray], str]) -> str:
    cells = "".join(
        '<figure class="dk-neighbour" style="margin:0 4px;text-align:center;font-size:11px">'
        f'<img alt="{html.escape(label)}" src="data:image/png;base64,{thumbnail(int(row), image)}"/>'
        f'<figcaption style="line-height:1.2">{html.escape(label)}<br/>{int(distance)} bits</figcaption></figure>'
        for row, label, image, distance in zip(
            answer.neighbor_ids, answer.neighbor_labels, answer.thumbnails, answer.neighbor_distances
        )
    )
    return f'<b>Nearest doodles (Hamming distance)</b><div style="display:flex;flex-wrap:wrap">{cells}</div>'


def _meanings_html(answer: Answer, top10: float | None) -> str:
    def listing(names: tuple[str, ...], scores: np.ndarray, css: str) -> str:
        return ", ".join(
            f'<span class="{css}">{html.escape(label)} ({float(score):.2f})</span>'
            for label, score in zip(names, scores)
        )

    known = listing(answer.meanings, answer.meaning_scores, "dk-meaning")
    parts = [f"<b>Nearest known labels by meaning (cosine)</b><div>{known}</div>"]
    if answer.zero_shot:
        measured = ""
        if top10 is not None:
            measured = f"; the true name is in the top 10 for {100 * top10:.0f}% of unseen drawings"
        parts.append(
            f"<b>Among all 345 names</b> <i>(a zero-shot guess{measured})</i>"
            f"<div>{listing(answer.zero_shot, answer.zero_shot_scores, 'dk-zero-shot')}</div>"
        )
    return f'<div style="line-height:1.3">{"".join(parts)}</div>'


class DoodlePad(widgets.VBox):
    """A drawing pad that recognises and searches after every stroke.

    Args:
        search: answers 28x28 bitmaps (predictions, nearest doodles, nearest labels).
        size: side of the square canvas in pixels; its on-screen size is fixed to
            the same number of CSS pixels.

    Attributes:
        canvas: the ipycanvas :class:`~ipycanvas.Canvas` (CSS class ``doodlekit-pad``).
        recorder: the :class:`StrokeRecorder` with the strokes in canvas pixels.
        answer: the last :class:`~doodlekit.apps.search.Answer`, or None while the pad is empty.
        pen: the ink's width on the canvas, pixels.
        seen: PNG image of the 28x28 bitmap the model sees.
        predictions, meanings, neighbours: HTML of the answer's three parts (the hint when
            empty); ``predictions`` holds one ``data-label`` element per guess inside a
            ``.dk-answer`` element whose ``data-strokes`` counts the strokes answered and whose
            ``data-unsure`` is ``"true"`` when the search is not sure (then it says so).

    :meth:`from_trained` makes a pad for any trained model (the lesson's 15 categories, the
    mirror's 41, a list of your own), able to say "not sure" and to guess among all 345 names.

    The canvas event handlers are public methods (``mouse_down``, ``mouse_move``,
    ``mouse_up``, ``touch_start``, ``touch_move``, ``touch_end``) so that code and
    tests can drive the pad exactly as the browser does.
    """

    def __init__(self, search: DoodleSearch, size: int = 280) -> None:
        self.search = search
        self.recorder = StrokeRecorder(size)
        self.answer: Answer | None = None
        px = f"{size}px"
        self.canvas = Canvas(width=size, height=size, layout=widgets.Layout(width=px, height=px, min_width=px))
        self.canvas.add_class("doodlekit-pad")
        self.pen = max(2.0, PEN_WIDTH * size)
        self._ink: list[tuple[float, float]] = []  # points of the open stroke not yet sent to the browser
        self._inked_at = 0.0
        self._thumbnails: dict[int, str] = {}  # gallery row -> base64 PNG, made once
        seen_px = f"{28 * SEEN_SCALE}px"
        self.seen = widgets.Image(format="png", layout=widgets.Layout(width=seen_px, height=seen_px))
        self.seen.add_class("doodlekit-seen")
        self.predictions = widgets.HTML(layout=widgets.Layout(min_width="260px"))
        self.predictions.add_class("doodlekit-predictions")
        self.meanings = widgets.HTML()
        self.meanings.add_class("doodlekit-meanings")
        self.neighbours = widgets.HTML()
        self.neighbours.add_class("doodlekit-neighbours")
        undo = widgets.Button(description="Undo", icon="undo", tooltip="Remove the last stroke")
        clear = widgets.Button(description="Clear", icon="trash", tooltip="Remove every stroke")
        undo.on_click(lambda _: self.undo())
        clear.on_click(lambda _: self.clear())
        side = widgets.VBox(
            [widgets.HTML('<div style="line-height:1.2"><b>What the model sees</b></div>'), self.seen, undo, clear],
            layout=widgets.Layout(width="110px", min_width="110px", margin="0 12px"),
        )
        results = widgets.VBox([self.predictions, self.meanings])
        super().__init__([widgets.HBox([self.canvas, side, results]), self.neighbours])
        self.canvas.on_mouse_down(self.mouse_down)
        self.canvas.on_mouse_move(self.mouse_move)
        self.canvas.on_mouse_up(self.mouse_up)
        self.canvas.on_mouse_out(self.mouse_up)
        self.canvas.on_touch_start(self.touch_start)
        self.canvas.on_touch_move(self.touch_move)
        self.canvas.on_touch_end(self.touch_end)
        self.canvas.on_touch_cancel(self.touch_end)
        self.canvas.on_client_ready(self._client_ready)
        self.refresh()

    @classmethod
    def from_trained(cls, trained: Trained, *, size: int = 280, settings: Settings | None = None) -> DoodlePad:
        """A pad for a trained model, e.g. one trained on the 41 categories of the offline mirror.

        Indexes the model's test split (:meth:`DoodleSearch.build
        <doodlekit.apps.search.DoodleSearch.build>`, the vectors its variant retrieves with) and
        calibrates its "not sure" answer and zero-shot guess on held-out categories
        (:meth:`~doodlekit.apps.search.DoodleSearch.know_limits`; the zero-shot guess only for
        variants that train the embedding head).

        Args:
            trained: a :class:`~doodlekit.model.training.Trained` (e.g. ``lessons.trained(...)``,
                or one read back from its checkpoint).
            size: the canvas side, pixels.
            settings: where the drawings are (None: the environment's).
        """
        variant = VARIANTS[trained.config.variant]
        gallery = trained.dataset("test")
        search = DoodleSearch.build(trained, gallery.images, gallery.targets, which=variant.retrieves_with)
        search.know_limits(
            trained.dataset("val").images, zero_shot=variant.retrieves_with == "embedding", settings=settings
        )
        return cls(search, size=size)

    def mouse_down(self, x: float, y: float) -> None:
        """Begin a stroke at canvas pixel (x, y) and ink a dot there."""
        point = self.recorder.begin(x, y)
        if point is None:
            if self.recorder.is_full:
                self.predictions.value = f"<i>{_FULL}</i>"
            return
        self.canvas.fill_circle(point[0], point[1], self.pen / 2)

    def mouse_move(self, x: float, y: float) -> None:
        """Extend the open stroke to (x, y) and ink the new segment (sent at most every :data:`INK_INTERVAL_S`)."""
        segment = self.recorder.extend(x, y)
        if segment is not None:
            self._ink = self._ink or [segment[0]]
            self._ink.append(segment[1])
            if time.monotonic() - self._inked_at >= INK_INTERVAL_S:
                self._send_ink()

    def _send_ink(self) -> None:
        """Send the open stroke's unsent segments to the browser as one polyline."""
        if len(self._ink) > 1:
            self.canvas.stroke_lines(self._ink)
        self._ink = self._ink[-1:]
        self._inked_at = time.monotonic()

    def _end_stroke(self) -> None:
        """Close the open stroke: ink what is left of it, then answer."""
        self._send_ink()
        self._ink = []
        if self.recorder.end():
            self.refresh()

    def mouse_up(self, x: float, y: float) -> None:
        """End the open stroke at (x, y) and answer the drawing."""
        self.mouse_move(x, y)
        self._end_stroke()

    def touch_start(self, touches: Sequence[tuple[float, float]]) -> None:
        """Begin a stroke at the first touch point."""
        if touches:
            self.mouse_down(*touches[0])

    def touch_move(self, touches: Sequence[tuple[float, float]]) -> None:
        """Extend the open stroke to the first touch point."""
        if touches:
            self.mouse_move(*touches[0])

    def touch_end(self, touches: Sequence[tuple[float, float]]) -> None:
        """End the open stroke (at the first lifted touch point, if given) and answer."""
        if touches:
            self.mouse_move(*touches[0])
        self._end_stroke()

    def undo(self) -> None:
        """Remove the last stroke, repaint and answer again."""
        if self.recorder.undo():
            self.redraw()
            self.refresh()

    def clear(self) -> None:
        """Remove every stroke and show the hint."""
        self.recorder.clear()
        self.redraw()
        self.refresh()

    def draw(self, drawing: Sequence) -> Answer | None:
        """Replay strokes ``[[xs, ys], ...]`` in canvas pixels through the mouse handlers.

        Returns:
            The answer after the last stroke (None if nothing was drawn).
        """
        for stroke in drawing:
            xs, ys = stroke[0], stroke[1]
            if len(xs):
                self.mouse_down(xs[0], ys[0])
                for x, y in zip(xs[1:], ys[1:]):
                    self.mouse_move(x, y)
                self.mouse_up(xs[-1], ys[-1])
        return self.answer

    def _client_ready(self) -> None:
        """A browser view of the canvas connected (JupyterLab, Notebook 7, Voila): paint it.

        A page that connects after the notebook ran (Voila) never heard which canvas the
        drawing commands are for: announce it again (:func:`reannounce_canvas`), then repaint
        everything.
        """
        reannounce_canvas(self.canvas)
        self.redraw()

    def redraw(self) -> None:
        """Repaint paper, pen settings and every stroke (after Undo, Clear, or a new browser view).

        A browser view that connects later (a Voila page, a reloaded notebook) starts
        with a blank canvas in its default state, so the pen settings are sent again too.
        """
        size = self.recorder.size
        with hold_canvas():
            self.canvas.clear()
            self.canvas.line_cap = "round"
            self.canvas.line_join = "round"
            self.canvas.line_width = self.pen
            self.canvas.fill_style = "white"
            self.canvas.fill_rect(0, 0, size, size)
            self.canvas.stroke_style = "#ccc"
            self.canvas.stroke_rect(0, 0, size, size)
            self.canvas.fill_style = "black"
            self.canvas.stroke_style = "black"
            for stroke in self.recorder.strokes:
                if len(stroke) > 1:
                    self.canvas.stroke_lines(stroke)
                else:
                    self.canvas.fill_circle(stroke[0][0], stroke[0][1], self.pen / 2)

    def refresh(self) -> None:
        """Rasterize the strokes, ask the search, and show its answer (or the hint when empty)."""
        bitmap = self.recorder.to_bitmap()
        self.seen.value = _png(bitmap, SEEN_SCALE)
        if self.recorder.is_empty:
            self.answer = None
            self.predictions.value = f"<i>{_HINT}</i>"
            self.meanings.value = ""
            self.neighbours.value = ""
            return
        self.answer = self.search.answer(bitmap)
        self.predictions.value = _predictions_html(self.answer, len(self.recorder.strokes), len(self.search.categories))
        self.meanings.value = _meanings_html(self.answer, self.search.zero_shot_top10)
        self.neighbours.value = _neighbours_html(self.answer, self._thumbnail)

    def _thumbnail(self, row: int, image: np.ndarray) -> str:
        """Base64 PNG of gallery row ``row`` (its bitmap ``image``), encoded on first use."""
        if row not in self._thumbnails:
            self._thumbnails[row] = base64.b64encode(_png(image, THUMB_SCALE)).decode()
        return self._thumbnails[row]
