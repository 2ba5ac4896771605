"""Figures for the notebooks and reports, one module per concern.

- :mod:`doodlekit.plotting.style`
- :mod:`doodlekit.plotting.doodles`
- :mod:`doodlekit.plotting.semantics`
- :mod:`doodlekit.plotting.training`
- :mod:`doodlekit.plotting.retrieval`
- :mod:`doodlekit.plotting.maps`

Every public name of these modules can be imported from here (``from doodlekit.plotting import ...``);
a module is imported when one of its names is first asked for (:mod:`doodlekit._exports`).
"""

from doodlekit._exports import lazy

__getattr__, __dir__, __all__ = lazy(__name__, {
    'DPI': 'style',
    'INK': 'style',
    'FAMILY_COLOURS': 'style',
    'METRIC_TITLES': 'style',
    'VARIANT_LINES': 'style',
    'figure': 'style',
    'blank': 'style',
    'category_colour': 'style',
    'family_handles': 'style',
    'variant_style': 'style',
    'variant_lines': 'style',
    'zoom_note': 'style',
    'place_labels': 'style',
    'as_images': 'doodles',
    'show_bitmaps': 'doodles',
    'mosaic': 'doodles',
    'category_grid': 'doodles',
    'draw_strokes': 'doodles',
    'drawing_formats': 'doodles',
    'stroke_frames': 'doodles',
    'similarity_heatmap': 'semantics',
    'similarity_heatmaps': 'semantics',
    'similarity_clustermap': 'semantics',
    'pair_scatter': 'semantics',
    'training_curves': 'training',
    'confusion_heatmap': 'training',
    'BitsCurve': 'retrieval',
    'HASHER_LINES': 'retrieval',
    'bits_figure': 'retrieval',
    'map_vs_bits': 'retrieval',
    'GALLERY_CAPTION': 'retrieval',
    'FRAMES_CAPTION': 'retrieval',
    'NO_FRAMES_CAPTION': 'retrieval',
    'query_gallery': 'retrieval',
    'answer_gallery': 'retrieval',
    'class_centres': 'maps',
    'align_map': 'maps',
    'embedding_maps': 'maps',
})
