"""What a person uses: the doodle search behind the pad, and the pad itself.

- :mod:`doodlekit.apps.search`
- :mod:`doodlekit.apps.pad`

Every public name of these modules can be imported from here (``from doodlekit.apps import ...``);
a module is imported when one of its names is first asked for (:mod:`doodlekit._exports`).
"""

from doodlekit._exports import lazy

__getattr__, __dir__, __all__ = lazy(__name__, {
    'SEARCH_FORMAT': 'search',
    'SINGLE_THREAD_QUERY': 'search',
    'TrainedModel': 'search',
    'Answer': 'search',
    'model_digest': 'search',
    'DoodleSearch': 'search',
    'MAX_POINTS_PER_STROKE': 'pad',
    'MAX_POINTS': 'pad',
    'MAX_STROKES': 'pad',
    'MIN_STEP': 'pad',
    'PEN_WIDTH': 'pad',
    'THUMB_SCALE': 'pad',
    'SEEN_SCALE': 'pad',
    'reannounce_canvas': 'pad',
    'StrokeRecorder': 'pad',
    'scale_to_pad': 'pad',
    'DoodlePad': 'pad',
})
