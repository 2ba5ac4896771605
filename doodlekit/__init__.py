"""doodlekit: doodle recognition and semantic similarity search on Quick, Draw!.

A thin library behind a sequence of notebooks. One module per concern:

- :mod:`doodlekit.categories` - the 345 official names, validation, default lists
- :mod:`doodlekit.config` - where data comes from (mirror, cache, download URL)
- :mod:`doodlekit.quickdraw` - reading and fetching Quick, Draw! files
- :mod:`doodlekit.datasets` - torch datasets of bitmaps and strokes
- :mod:`doodlekit.raster` - strokes to 28x28 bitmaps, like the dataset's own
- :mod:`doodlekit.semantics` - word vectors, label vectors, adaptive margins
- :mod:`doodlekit.models`, :mod:`doodlekit.losses`, :mod:`doodlekit.training`
- :mod:`doodlekit.hashing`, :mod:`doodlekit.index`, :mod:`doodlekit.metrics`
- :mod:`doodlekit.reproduce` - the results table in one command
- :mod:`doodlekit.widgets` - the live doodle pad
"""

from doodlekit.data.categories import CATEGORIES, DEFAULT_CATEGORIES, validate_category
from doodlekit.errors import DoodleKitError

__version__ = "0.1.0"
__all__ = ["CATEGORIES", "DEFAULT_CATEGORIES", "DoodleKitError", "validate_category", "__version__"]
