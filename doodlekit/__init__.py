"""doodlekit: doodle recognition and semantic similarity search on Quick, Draw!.

A thin library behind a sequence of notebooks, in folders that follow the pipeline:

- :mod:`doodlekit.data` - category names, settings, HTTP and cache files, rasterizing, torch datasets
- :mod:`doodlekit.semantics` - word-vector sources and label vectors
- :mod:`doodlekit.model` - the two-headed network, losses and variants, training, inference, checkpoints
- :mod:`doodlekit.retrieval` - hashers, Hamming ranking, the index, metrics, zero-shot
- :mod:`doodlekit.apps` - the doodle search and the live pad
- :mod:`doodlekit.experiments` - the lessons' shared setup, ``doodlekit reproduce`` and its report
- :mod:`doodlekit.plotting` - figures, by concern

Imports run one way along that list; :mod:`doodlekit.defaults` holds the kit's defaults.
"""

from doodlekit.data.categories import CATEGORIES, DEFAULT_CATEGORIES, validate_category
from doodlekit.errors import DoodleKitError

__version__ = "0.1.0"
__all__ = ["CATEGORIES", "DEFAULT_CATEGORIES", "DoodleKitError", "validate_category", "__version__"]
