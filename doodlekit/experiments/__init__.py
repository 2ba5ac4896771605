"""Experiments on top of the pipeline: the lessons' shared setup, ``reproduce`` and its report, 2-D maps,
doodles searching Animal-MNIST's silhouettes.

Every public name of its modules imports lazily from here (:mod:`doodlekit._exports`).
"""

from doodlekit._exports import lazy

__getattr__, __dir__, __all__ = lazy(__name__, {
    "lessons": ("ENV_VAR", "DEFAULT_VARIANT", "REFERENCE_MANIFEST", "TOLERANCES", "Lesson", "LESSON", "STROKE_ROWS",
        "SAME_DRAWING", "unseen_drawings", "artifacts_dir", "reference_manifest", "trained", "evaluate_on_test",
        "ReferenceCheck", "compare_with_reference", "write_reference", "doodle_search",),
    "reproduce": ("DEFAULT_HELDOUT", "DEFAULT_PER_CLASS", "DEFAULT_EPOCHS", "DEFAULT_SEEDS", "QUICK_PER_CLASS",
        "QUICK_EPOCHS", "QUICK_SEEDS", "QUICK_MAP_POINTS", "MAX_SEED", "SPLIT_SEED", "PHASES", "CE_ZERO_SHOT",
        "REFERENCE_RESULTS", "REFERENCE_TOLERANCES", "PROTOCOL", "ReproduceConfig", "make_config",
        "reference_results", "reference_check", "run",
        "DATASETS", "ANIMAL_HELDOUT", "ANIMAL_PER_CLASS", "ANIMAL_EPOCHS", "ANIMAL_QUICK_EPOCHS",),
    "report": ("MAP_VS_BITS_PNG", "UMAP_PNG", "SEMANTIC_TOP", "RADIUS", "CODERS", "Metric", "ResultKeys", "KEYS",
        "findings", "quantizer_findings", "summary_line", "map_vs_bits_figure", "umap_figure", "markdown",),
    "crossdomain": ("SEEN_ANIMALS", "UNSEEN_ANIMALS", "STYLES", "QUERIES_PER_ANIMAL", "TOP", "ANIMAL_RESULTS",
        "Silhouettes", "silhouettes", "doodle_queries", "animal_vectors", "semantic_vectors", "measure", "cross_domain",
        "silhouette_search", "chance", "animal_results", "seed_table", "table",),
    "projection": ("MAX_POINTS", "balanced_sample", "umap_2d", "label_map", "centroid_cosines",),
})
