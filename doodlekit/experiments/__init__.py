"""Experiments on top of the pipeline: the lessons' shared setup, ``reproduce`` and its report, 2-D maps.

- :mod:`doodlekit.experiments.lessons`
- :mod:`doodlekit.experiments.reproduce`
- :mod:`doodlekit.experiments.report`
- :mod:`doodlekit.experiments.projection`

Every public name of these modules can be imported from here (``from doodlekit.experiments import ...``);
a module is imported when one of its names is first asked for (:mod:`doodlekit._exports`).
"""

from doodlekit._exports import lazy

__getattr__, __dir__, __all__ = lazy(__name__, {
    'ENV_VAR': 'lessons',
    'DEFAULT_VARIANT': 'lessons',
    'REFERENCE_MANIFEST': 'lessons',
    'TOLERANCES': 'lessons',
    'Lesson': 'lessons',
    'LESSON': 'lessons',
    'STROKE_ROWS': 'lessons',
    'SAME_DRAWING': 'lessons',
    'unseen_drawings': 'lessons',
    'artifacts_dir': 'lessons',
    'reference_manifest': 'lessons',
    'trained': 'lessons',
    'evaluate_on_test': 'lessons',
    'ReferenceCheck': 'lessons',
    'compare_with_reference': 'lessons',
    'write_reference': 'lessons',
    'doodle_search': 'lessons',
    'DEFAULT_HELDOUT': 'reproduce',
    'DEFAULT_PER_CLASS': 'reproduce',
    'DEFAULT_EPOCHS': 'reproduce',
    'DEFAULT_SEEDS': 'reproduce',
    'QUICK_PER_CLASS': 'reproduce',
    'QUICK_EPOCHS': 'reproduce',
    'QUICK_SEEDS': 'reproduce',
    'QUICK_MAP_POINTS': 'reproduce',
    'MAX_SEED': 'reproduce',
    'SPLIT_SEED': 'reproduce',
    'PHASES': 'reproduce',
    'CE_ZERO_SHOT': 'reproduce',
    'REFERENCE_RESULTS': 'reproduce',
    'REFERENCE_TOLERANCES': 'reproduce',
    'PROTOCOL': 'reproduce',
    'ReproduceConfig': 'reproduce',
    'make_config': 'reproduce',
    'reference_results': 'reproduce',
    'reference_check': 'reproduce',
    'run': 'reproduce',
    'MAP_VS_BITS_PNG': 'report',
    'UMAP_PNG': 'report',
    'SEMANTIC_TOP': 'report',
    'RADIUS': 'report',
    'Metric': 'report',
    'ResultKeys': 'report',
    'KEYS': 'report',
    'findings': 'report',
    'summary_line': 'report',
    'map_vs_bits_figure': 'report',
    'umap_figure': 'report',
    'markdown': 'report',
    'MAX_POINTS': 'projection',
    'balanced_sample': 'projection',
    'umap_2d': 'projection',
    'label_map': 'projection',
    'centroid_cosines': 'projection',
})
