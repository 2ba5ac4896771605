"""Figures for the notebooks and reports, one module per concern.

Every public name of its modules imports lazily from here (:mod:`doodlekit._exports`).
"""

from doodlekit._exports import lazy

__getattr__, __dir__, __all__ = lazy(__name__, {
    "style": ("DPI", "INK", "FAMILY_COLOURS", "METRIC_TITLES", "VARIANT_LINES", "figure", "blank",
        "category_colour", "family_handles", "variant_style", "variant_lines", "zoom_note", "place_labels",),
    "doodles": ("as_images", "show_bitmaps", "mosaic", "category_grid", "draw_strokes", "drawing_formats",
        "stroke_frames",),
    "semantics": ("similarity_heatmap", "similarity_heatmaps", "similarity_clustermap", "pair_scatter",),
    "training": ("training_curves", "confusion_heatmap",),
    "retrieval": ("BitsCurve", "HASHER_LINES", "bits_figure", "map_vs_bits", "GALLERY_CAPTION", "FRAMES_CAPTION",
        "NO_FRAMES_CAPTION", "query_gallery", "answer_gallery",),
    "maps": ("class_centres", "align_map", "embedding_maps",),
    "quantization": ("CODER_STYLES", "codebook_picture", "coder_bits_figure",),
})
