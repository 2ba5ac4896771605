"""The semantic space: word-vector sources (gensim ``KeyedVectors``) and label vectors.

Every public name of its modules imports lazily from here (:mod:`doodlekit._exports`).
"""

from doodlekit._exports import lazy

__getattr__, __dir__, __all__ = lazy(__name__, {
    "sources": ("DEFAULT_SPEC", "BUILTIN_TABLES", "BUILTIN_SPECS", "GENSIM_MODELS", "VECTORS_ENV", "LOCAL_SUFFIX",
        "load_vectors", "local_vector_names", "local_vector_file", "export_vectors", "MAX_DIM",),
    "labels": ("STOP_WORDS", "LabelVectors", "label_vectors", "unit_rows", "similarity_matrix", "adaptive_margins",
        "nearest_labels",),
    "vocabulary": ("COMPOUND_PARTS", "all_label_vectors", "label_ranks",),
})
