"""Where drawings come from: category names, settings, HTTP and cache files, rasterizing, torch datasets.

- :mod:`doodlekit.data.categories`
- :mod:`doodlekit.data.settings`
- :mod:`doodlekit.data.http`
- :mod:`doodlekit.data.files`
- :mod:`doodlekit.data.quickdraw`
- :mod:`doodlekit.data.raster`
- :mod:`doodlekit.data.datasets`

Every public name of these modules can be imported from here (``from doodlekit.data import ...``);
a module is imported when one of its names is first asked for (:mod:`doodlekit._exports`).
"""

from doodlekit._exports import lazy

__getattr__, __dir__, __all__ = lazy(__name__, {
    'CATEGORIES': 'categories',
    'DEFAULT_CATEGORIES': 'categories',
    'UNTUNED_CATEGORIES': 'categories',
    'suggest': 'categories',
    'validate_category': 'categories',
    'validate_categories': 'categories',
    'FAMILIES': 'categories',
    'OTHER_FAMILY': 'categories',
    'family': 'categories',
    'DEFAULT_BASE_URL': 'settings',
    'FORMATS': 'settings',
    'FORMAT_LAYOUT': 'settings',
    'Settings': 'settings',
    'get_settings': 'settings',
    'relative_path': 'settings',
    'CHUNK_BYTES': 'http',
    'TIMEOUT_S': 'http',
    'RETRIES': 'http',
    'RETRY_BACKOFF_S': 'http',
    'MIN_LINE_CHUNK': 'http',
    'LINE_BYTES_GUESS': 'http',
    'Transfer': 'http',
    'transfer': 'http',
    'iter_range': 'http',
    'copy_range': 'http',
    'copy_lines': 'http',
    'HashingWriter': 'files',
    'atomic_file': 'files',
    'remove_stale_parts': 'files',
    'write_atomic': 'files',
    'write_json_atomic': 'files',
    'write_npz': 'files',
    'read_npz': 'files',
    'sha256_file': 'files',
    'PIXELS': 'quickdraw',
    'NPY_HEADER_GUESS': 'quickdraw',
    'NPY_HEADER_MAX': 'quickdraw',
    'STALE_PART_S': 'quickdraw',
    'LOCK_TIMEOUT_S': 'quickdraw',
    'Source': 'quickdraw',
    'FetchReport': 'quickdraw',
    'load_bitmaps': 'quickdraw',
    'load_drawings': 'quickdraw',
    'fetch': 'quickdraw',
    'BOX': 'raster',
    'LINE_WIDTH': 'raster',
    'PADDING': 'raster',
    'SUPERSAMPLE': 'raster',
    'RESAMPLE_SPACING': 'raster',
    'RDP_EPSILON': 'raster',
    'MAX_RESAMPLED_POINTS': 'raster',
    'MAX_SIZE': 'raster',
    'normalize_raw': 'raster',
    'rasterize': 'raster',
    'rasterize_many': 'raster',
    'as_bitmaps': 'raster',
    'SPLITS': 'datasets',
    'split_indices': 'datasets',
    'QuickDrawBitmaps': 'datasets',
    'QuickDrawStrokes': 'datasets',
})
