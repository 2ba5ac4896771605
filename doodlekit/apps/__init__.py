"""What a person uses: the doodle search behind the pad, and the pad itself.

Every public name of its modules imports lazily from here (:mod:`doodlekit._exports`).
"""

from doodlekit._exports import lazy

__getattr__, __dir__, __all__ = lazy(__name__, {
    "search": ("SEARCH_FORMAT", "SINGLE_THREAD_QUERY", "TrainedModel", "Answer", "model_digest", "DoodleSearch",),
    "pad": ("MAX_POINTS_PER_STROKE", "MAX_POINTS", "MAX_STROKES", "MIN_STEP", "PEN_WIDTH", "INK_INTERVAL_S",
        "THUMB_SCALE", "SEEN_SCALE", "reannounce_canvas", "StrokeRecorder", "scale_to_pad", "DoodlePad",),
})
