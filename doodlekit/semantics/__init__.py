"""The semantic space: word-vector sources (gensim ``KeyedVectors``) and label vectors.

- :mod:`doodlekit.semantics.sources`
- :mod:`doodlekit.semantics.labels`

Every public name of these modules can be imported from here (``from doodlekit.semantics import ...``);
a module is imported when one of its names is first asked for (:mod:`doodlekit._exports`).
"""

from doodlekit._exports import lazy

__getattr__, __dir__, __all__ = lazy(__name__, {
    'DEFAULT_SPEC': 'sources',
    'BUILTIN_TABLES': 'sources',
    'BUILTIN_SPECS': 'sources',
    'GENSIM_MODELS': 'sources',
    'VECTORS_ENV': 'sources',
    'LOCAL_SUFFIX': 'sources',
    'load_vectors': 'sources',
    'local_vector_names': 'sources',
    'local_vector_file': 'sources',
    'export_vectors': 'sources',
    'MAX_DIM': 'sources',
    'STOP_WORDS': 'labels',
    'LabelVectors': 'labels',
    'label_vectors': 'labels',
    'unit_rows': 'labels',
    'similarity_matrix': 'labels',
    'adaptive_margins': 'labels',
    'nearest_labels': 'labels',
})
