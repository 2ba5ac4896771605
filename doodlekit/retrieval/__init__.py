"""From embeddings to search: hashers, Hamming ranking, the index, DVSQ's quantizer (AQD), metrics and zero-shot.

Every public name of its modules imports lazily from here (:mod:`doodlekit._exports`).
"""

from doodlekit._exports import lazy

__getattr__, __dir__, __all__ = lazy(__name__, {
    "arrays": ("CELLS_PER_BLOCK", "import_faiss", "check_n_bits", "check_k", "check_codes", "check_embeddings",
        "smallest_k",),
    "hamming": ("Backend", "pack_bits", "unpack_bits", "check_nonempty", "hamming_distances", "hamming_rank",
        "prepare_words", "rank_words",),
    "hashers": ("HASHER_FORMAT", "RandomHyperplaneLSH", "ITQ", "ProductQuantizer", "HASHERS", "HasherName",
        "hasher_class",),
    "index": ("SearchResult", "HammingIndex",),
    "quantization": ("QUANTIZER_NAME", "VisualSemanticQuantizer", "aqd_scores", "aqd_rank", "AQDResult",
        "QuantizedIndex",),
    "metrics": ("check_labels", "cosine_rank", "drop_self", "relevance", "precision_at_k", "relevant_counts",
        "average_precision_at_k", "mean_average_precision",
        "mean_average_precision_deephash", "precision_within_radius", "semantic_precision_at_k",
        "MissSimilarity", "miss_similarity", "alignment",),
    "evaluation": ("RetrievalScores", "RetrievalReport", "retrieval_report",),
    "zeroshot": ("zero_shot_predict", "zero_shot_accuracy", "expected_random_map", "fit_semantic_map",
        "choose_heldout",),
})
