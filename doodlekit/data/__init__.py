"""Where drawings come from: category names, settings, HTTP and cache files, rasterizing, torch datasets
(Quick, Draw! and Animal-MNIST).

Every public name of its modules imports lazily from here (:mod:`doodlekit._exports`).
"""

from doodlekit._exports import lazy

__getattr__, __dir__, __all__ = lazy(__name__, {
    "categories": ("CATEGORIES", "DEFAULT_CATEGORIES", "UNTUNED_CATEGORIES", "suggest", "validate_category",
        "validate_categories", "FAMILIES", "OTHER_FAMILY", "family",),
    "settings": ("DEFAULT_BASE_URL", "FORMATS", "FORMAT_LAYOUT", "Settings", "get_settings", "relative_path",),
    "http": ("CHUNK_BYTES", "TIMEOUT_S", "RETRIES", "RETRY_BACKOFF_S", "MIN_LINE_CHUNK", "LINE_BYTES_GUESS",
        "Transfer", "transfer", "iter_range", "copy_range", "copy_lines",),
    "files": ("HashingWriter", "atomic_file", "remove_stale_parts", "write_atomic", "write_json_atomic",
        "write_npz", "read_npz", "sha256_file",),
    "quickdraw": ("PIXELS", "NPY_HEADER_GUESS", "NPY_HEADER_MAX", "STALE_PART_S", "LOCK_TIMEOUT_S", "Source",
        "FetchReport", "load_bitmaps", "load_drawings", "fetch",),
    "raster": ("BOX", "LINE_WIDTH", "PADDING", "SUPERSAMPLE", "RESAMPLE_SPACING", "RDP_EPSILON",
        "MAX_RESAMPLED_POINTS", "MAX_SIZE", "BACKENDS", "ApproximateBitmapWarning", "available_backends",
        "simplify_rdp", "normalize_raw", "rasterize", "rasterize_many", "StrokeRaster", "as_bitmaps",),
    "datasets": ("SPLITS", "split_indices", "QuickDrawBitmaps", "QuickDrawStrokes",),
    "animal_mnist": ("CLASSES", "ROOT_ENV", "URL_ENV", "WHEEL_NAME", "WHEEL_URL", "WHEEL_SHA256", "WHEEL_MEMBERS",
        "MAX_PICKLE_BYTES", "SAFE_GLOBALS", "unpickle_arrays", "AnimalArrays", "read_folder", "read_wheel",
        "wheel_url", "fetch_wheel", "load_arrays", "duplicate_groups", "animal_split", "OUTLINE_SIDES", "outline", "Outline",
        "AnimalMNIST",),
})
