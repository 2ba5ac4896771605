"""The training variants, one table: what each trains, what it retrieves with, how figures name it.

Everything that depends on the variant looks it up here: :class:`~doodlekit.model.losses.MultitaskLoss`
(is there a semantic term), retrieval and zero-shot in ``reproduce`` and the lessons (which
vectors to embed), the report's tables and every figure's legend and colour. This module imports
nothing heavy (no torch), so figures can use it.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The vectors a variant can retrieve with (:attr:`Variant.retrieves_with`, :func:`~doodlekit.model.embed`'s
#: ``which``), in words.
VECTOR_KINDS: dict[str, str] = {"embedding": "its semantic embedding", "features": "its penultimate features"}


@dataclass(frozen=True)
class Variant:
    """One training variant.

    Attributes:
        name: its key in :class:`~doodlekit.model.TrainConfig`, checkpoints and results files.
        loss: the training loss in words (the semantic term is weighted by ``lam``).
        semantic: whether the loss trains the embedding head towards the label vectors.
        retrieves_with: the vectors it searches and zero-shots with, :func:`~doodlekit.model.embed`'s
            ``which``: ``"embedding"`` (semantic head) or ``"features"`` (penultimate layer, for
            CE, whose embedding head is never trained).
        display_name: how tables and legends name it.
        colour: its matplotlib colour in every figure.
        joint_quantizer: whether it learns DVSQ's codebooks together with the network
            (:mod:`doodlekit.model.codebooks`; the checkpoint carries them).
    """

    name: str
    loss: str
    semantic: bool
    retrieves_with: str
    display_name: str
    colour: str
    joint_quantizer: bool = False


#: The variants by name, in table order (iterating gives the names: ``"ce"``, ``"fixed_margin"``,
#: ``"adaptive_margin"``, ``"dvsq"``).
VARIANTS: dict[str, Variant] = {
    variant.name: variant
    for variant in (
        Variant(name="ce", loss="cross-entropy only", semantic=False, retrieves_with="features",
                display_name="CE", colour="tab:gray"),
        Variant(name="fixed_margin",
                loss="cross-entropy + cosine hinge with a fixed margin (the recipe's margin; DVSQ's alternative)",
                semantic=True, retrieves_with="embedding", display_name="fixed margin", colour="tab:blue"),
        Variant(name="adaptive_margin",
                loss="cross-entropy + cosine hinge with the margin 1 - cos(v_y, v_k) (DVSQ's loss)",
                semantic=True, retrieves_with="embedding", display_name="adaptive margin", colour="tab:orange"),
        Variant(name="dvsq",
                loss="cross-entropy + the adaptive-margin hinge + lam_q ||V (z - C b)||^2, the quantization error "
                     "of codebooks C learnt jointly (DVSQ's full loss)",
                semantic=True, retrieves_with="embedding", display_name="adaptive margin + joint quantizer",
                colour="tab:red", joint_quantizer=True),
    )
}


def display_name(name: str) -> str:
    """How tables and legends name a run: a variant's :attr:`Variant.display_name`, any other name as is."""
    return VARIANTS[name].display_name if name in VARIANTS else name


def check_variant(name: str) -> Variant:
    """The :class:`Variant` called ``name``, or a ValueError naming the variants."""
    if name not in VARIANTS:
        raise ValueError(f"unknown loss variant {name!r}; use one of {', '.join(VARIANTS)}")
    return VARIANTS[name]
