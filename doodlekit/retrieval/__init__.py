"""From embeddings to search: hashers, Hamming ranking, the index, metrics and zero-shot.

- :mod:`doodlekit.retrieval.arrays`
- :mod:`doodlekit.retrieval.hamming`
- :mod:`doodlekit.retrieval.hashers`
- :mod:`doodlekit.retrieval.index`
- :mod:`doodlekit.retrieval.metrics`
- :mod:`doodlekit.retrieval.evaluation`
- :mod:`doodlekit.retrieval.zeroshot`

Every public name of these modules can be imported from here (``from doodlekit.retrieval import ...``);
a module is imported when one of its names is first asked for (:mod:`doodlekit._exports`).
"""

from doodlekit._exports import lazy

__getattr__, __dir__, __all__ = lazy(__name__, {
    'CELLS_PER_BLOCK': 'arrays',
    'import_faiss': 'arrays',
    'check_n_bits': 'arrays',
    'check_k': 'arrays',
    'check_codes': 'arrays',
    'check_embeddings': 'arrays',
    'smallest_k': 'arrays',
    'Backend': 'hamming',
    'pack_bits': 'hamming',
    'unpack_bits': 'hamming',
    'check_nonempty': 'hamming',
    'hamming_distances': 'hamming',
    'hamming_rank': 'hamming',
    'prepare_words': 'hamming',
    'rank_words': 'hamming',
    'HASHER_FORMAT': 'hashers',
    'RandomHyperplaneLSH': 'hashers',
    'ITQ': 'hashers',
    'ProductQuantizer': 'hashers',
    'HASHERS': 'hashers',
    'HasherName': 'hashers',
    'hasher_class': 'hashers',
    'SearchResult': 'index',
    'HammingIndex': 'index',
    'check_labels': 'metrics',
    'cosine_rank': 'metrics',
    'drop_self': 'metrics',
    'relevance': 'metrics',
    'precision_at_k': 'metrics',
    'relevant_counts': 'metrics',
    'average_precision_at_k': 'metrics',
    'mean_average_precision': 'metrics',
    'precision_within_radius': 'metrics',
    'semantic_precision_at_k': 'metrics',
    'MissSimilarity': 'metrics',
    'miss_similarity': 'metrics',
    'alignment': 'metrics',
    'RetrievalScores': 'evaluation',
    'RetrievalReport': 'evaluation',
    'retrieval_report': 'evaluation',
    'zero_shot_predict': 'zeroshot',
    'zero_shot_accuracy': 'zeroshot',
    'expected_random_map': 'zeroshot',
    'fit_semantic_map': 'zeroshot',
    'choose_heldout': 'zeroshot',
})
