"""From 28x28 bitmaps to answers: predictions, nearest doodles, nearest labels by meaning.

A :class:`DoodleSearch` holds a trained :class:`~doodlekit.model.network.DoodleNet`, its label
vectors, a binary hasher fitted on a gallery of bitmaps and a
:class:`~doodlekit.retrieval.index.HammingIndex` of the gallery's codes. For each query bitmap it
gives the top predictions with probabilities, the nearest gallery doodles by Hamming
distance (ids, labels, thumbnails) and the labels whose vectors are nearest the
embedding by cosine. Given an :class:`~doodlekit.model.openset.OpenSetRule` it also says when
it is not sure the drawing is any of its categories, and given the label vectors of all 345
names, where the drawing lands among them (a zero-shot guess). The doodle pad asks it after
every stroke; notebooks query many.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from doodlekit.data.files import read_npz, write_npz
from doodlekit.data.raster import as_bitmaps
from doodlekit.data.settings import Settings
from doodlekit.defaults import CODE_BITS
from doodlekit.errors import CheckpointMismatchError, CorruptFileError, DataNotFoundError
from doodlekit.model.inference import embed, exact_copy, infer
from doodlekit.model.network import DoodleNet
from doodlekit.model.openset import (
    CALIBRATION_DRAWINGS,
    OpenSetRule,
    calibrate,
    heldout_split,
    scores_from_outputs,
    unknown_bitmaps,
)
from doodlekit.retrieval.hashers import ITQ, RandomHyperplaneLSH, hasher_class
from doodlekit.retrieval.index import HammingIndex
from doodlekit.retrieval.quantization import QUANTIZER_NAME, QuantizedIndex, VisualSemanticQuantizer
from doodlekit.semantics.labels import LabelVectors, nearest_labels
from doodlekit.semantics.vocabulary import all_label_vectors, label_ranks

#: ``format`` entry of every file written by :meth:`DoodleSearch.save`.
SEARCH_FORMAT = "doodlekit-search-2"
#: Queries of at most this many bitmaps run on one CPU thread: for a few small images, handing
#: work between threads costs more than the convolutions (10-100x more on a busy machine).
SINGLE_THREAD_QUERY = 64
#: Prefix of the hasher's own arrays (:meth:`~doodlekit.retrieval.ITQ.to_arrays`) in a search file.
_HASHER = "hasher."
_KEYS = ("format", "which", "model_digest", "fingerprint", "images", "labels", "codes", f"{_HASHER}name")


class TrainedModel(Protocol):
    """What :class:`DoodleSearch` needs from a training result (e.g. :class:`~doodlekit.model.training.Trained`)."""

    model: DoodleNet
    label_vectors: LabelVectors


@dataclass(frozen=True, repr=False)
class Answer:
    """What :class:`DoodleSearch` says about one bitmap.

    Attributes:
        labels: the ``top`` most probable categories, most probable first.
        probabilities: (top,) float32 softmax probabilities of ``labels``.
        neighbor_ids: (k,) int64 gallery rows of the nearest doodles, nearest first.
        neighbor_labels: the categories of those doodles.
        neighbor_distances: (k,) int32 Hamming distances, in bits; with DVSQ's quantizer, (k,) float64
            asymmetric distances ``1 - q . C b``.
        thumbnails: (k, 28, 28) uint8 gallery bitmaps (ink 255 on paper 0).
        meanings: the categories whose label vectors are nearest the embedding.
        meaning_scores: (len(meanings),) float32 cosines of the embedding to those label vectors.
        unsure: True when the search's open-set rule finds the drawing unlike every known category.
        confidence: the open-set rule's score of the drawing (NaN without a rule).
        zero_shot: the nearest names among all 345 category names (empty without them).
        zero_shot_scores: (len(zero_shot),) float32 cosines of the embedding to those names' vectors.
    """

    labels: tuple[str, ...]
    probabilities: np.ndarray
    neighbor_ids: np.ndarray
    neighbor_labels: tuple[str, ...]
    neighbor_distances: np.ndarray
    thumbnails: np.ndarray
    meanings: tuple[str, ...]
    meaning_scores: np.ndarray
    unsure: bool = False
    confidence: float = float("nan")
    zero_shot: tuple[str, ...] = ()
    zero_shot_scores: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))

    def __repr__(self) -> str:
        guesses = ", ".join(f"{name} {p:.2f}" for name, p in zip(self.labels, self.probabilities))
        near = ", ".join(f"{name} ({d})" for name, d in zip(self.neighbor_labels, self.neighbor_distances))
        meant = ", ".join(f"{name} {c:.2f}" for name, c in zip(self.meanings, self.meaning_scores))
        unsure = "not sure; " if self.unsure else ""
        return f"Answer({unsure}guesses: {guesses}; nearest doodles (bits): {near}; nearest meanings: {meant})"


def _bitmaps(images: np.ndarray, what: str = "images") -> np.ndarray:
    """(N, 28, 28) or (N, 784) uint8 -> contiguous (N, 28, 28) uint8 (:func:`~doodlekit.data.raster.as_bitmaps`)."""
    return np.ascontiguousarray(as_bitmaps(images, what))


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one CPU thread inside the block; restore the thread count afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def model_digest(model: DoodleNet) -> str:
    """sha256 hex digest of a model's hyper-parameters and weights (what an index was built with)."""
    digest = hashlib.sha256(repr(sorted(model.hparams.items())).encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


class DoodleSearch:
    """Predictions, Hamming search over a gallery, and nearest labels by meaning.

    Build one with :meth:`build`; save it with :meth:`save` and load it with :meth:`load`.

    Attributes:
        model: the :class:`~doodlekit.model.network.DoodleNet` (eval mode).
        label_vectors: its label vectors; label ``k`` is ``label_vectors.categories[k]``.
        hasher: the fitted binary hasher (``"itq"`` or ``"lsh"`` of :data:`~doodlekit.retrieval.HASHERS`), or
            DVSQ's quantizer (``"dvsq"``, :class:`~doodlekit.retrieval.quantization.VisualSemanticQuantizer`).
        index: the :class:`~doodlekit.retrieval.index.HammingIndex` of the gallery (ids are gallery rows), or
            for the quantizer its :class:`~doodlekit.retrieval.quantization.QuantizedIndex` (AQD search).
        gallery: (N, 28, 28) uint8 gallery bitmaps.
        which: the vectors that are hashed: ``"embedding"`` or ``"features"`` (see
            :func:`~doodlekit.model.inference.embed`).
        open_set: the rule that says "not sure" (None: every answer is given as sure).
        all_labels: label vectors of every category name, in the space of ``label_vectors``,
            for the zero-shot guess (None: no guess).
        zero_shot_top10: fraction of held-out drawings whose true name is among the 10 nearest
            of ``all_labels`` (None until :meth:`know_limits` measured it).
        gallery_categories: names of the gallery's labels: the model's categories, or another label set
            (e.g. Animal-MNIST's animals, searched with doodles).
    """

    def __init__(
        self,
        model: DoodleNet,
        label_vectors: LabelVectors,
        hasher: ITQ | RandomHyperplaneLSH | VisualSemanticQuantizer,
        index: HammingIndex,
        gallery: np.ndarray,
        *,
        which: str = "embedding",
        gallery_categories: Sequence[str] | None = None,
    ) -> None:
        self.model = model.eval()
        self.label_vectors = label_vectors
        self.hasher = hasher
        self.index = index
        self.gallery = _bitmaps(gallery, "gallery")
        self.which = which
        self.open_set: OpenSetRule | None = None
        self.all_labels: LabelVectors | None = None
        self.zero_shot_top10: float | None = None
        self._exact: DoodleNet | None = None
        self.gallery_categories = list(gallery_categories or label_vectors.categories)
        if len(index) != len(self.gallery):
            raise ValueError(
                f"the index holds {len(index)} codes for {len(self.gallery)} gallery bitmaps; build both together"
            )

    def __repr__(self) -> str:
        return (
            f"DoodleSearch({len(self.categories)} categories, gallery of {len(self.gallery)}, "
            f"{self.index.n_bits}-bit {type(self.hasher).__name__} codes of the {self.which})"
        )

    @property
    def categories(self) -> list[str]:
        """Category names in label order."""
        return self.label_vectors.categories

    @classmethod
    def build(
        cls,
        trained: TrainedModel,
        gallery_images: np.ndarray,
        gallery_labels: np.ndarray,
        *,
        n_bits: int = CODE_BITS,
        hasher: str = "itq",
        which: str = "embedding",
        seed: int = 0,
        gallery_categories: Sequence[str] | None = None,
    ) -> DoodleSearch:
        """Fit a hasher on the gallery's vectors and index the gallery.

        Args:
            trained: a training result with ``.model`` and ``.label_vectors``.
            gallery_images: (N, 28, 28) or (N, 784) uint8 bitmaps to search among.
            gallery_labels: (N,) int labels in ``[0, C)`` (label order of ``trained``, or of ``gallery_categories``).
            n_bits: code width, a multiple of 8.
            hasher: a binary hasher of :data:`~doodlekit.retrieval.HASHERS`, ``"itq"`` or ``"lsh"``, or
                ``"dvsq"``: DVSQ's quantizer, searched by AQD; it uses the codebooks ``trained`` learnt
                jointly when it has them (``trained.codebooks``, ``n_bits`` wide), else fits one on the
                gallery (with the label vectors when ``which`` is ``"embedding"``).
            which: hash the ``"embedding"`` (semantic head) or the ``"features"`` (penultimate layer).
            seed: the hasher's ``random_state``.
            gallery_categories: the names of ``gallery_labels`` when they are not the model's categories
                (such a search is not saved: :meth:`save` stores the model's label set only).
        """
        kind = VisualSemanticQuantizer if hasher == QUANTIZER_NAME else hasher_class(hasher, binary=True)
        images = _bitmaps(gallery_images, "gallery_images")
        labels = np.asarray(gallery_labels)
        classes = len(gallery_categories or trained.label_vectors.categories)
        in_range = labels.dtype.kind in "iu" and bool(np.all((labels >= 0) & (labels < classes)))
        if labels.shape != (len(images),) or not in_range:
            raise ValueError(
                f"gallery_labels must be {len(images)} integer labels in [0, {classes}), one per gallery bitmap; "
                "pass dataset.targets of the same dataset as the images"
            )
        vectors = embed(trained.model, images, which)
        if kind is VisualSemanticQuantizer:
            semantic = trained.label_vectors.vectors if which == "embedding" else None
            codebooks = getattr(trained, "codebooks", None) if which == "embedding" else None
            fitted = (VisualSemanticQuantizer.from_codebooks(codebooks, semantic, random_state=seed)
                      if codebooks is not None and 8 * len(codebooks) == n_bits
                      else VisualSemanticQuantizer(n_bits, random_state=seed).fit(vectors, label_vectors=semantic))
            index: HammingIndex = QuantizedIndex(fitted)
        else:
            fitted = kind(n_bits, random_state=seed).fit(vectors)
            index = HammingIndex(n_bits)
        index.add(fitted.transform(vectors), labels.astype(np.int64))
        return cls(trained.model, trained.label_vectors, fitted, index, images, which=which,
                   gallery_categories=gallery_categories)

    def _outputs(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(probabilities, logits, embeddings, searched vectors) of (N, 28, 28) uint8 bitmaps, float32.

        The numbers of :func:`~doodlekit.model.inference.predict_proba` and
        :func:`~doodlekit.model.inference.embed`, from one forward pass over the search's own
        :func:`~doodlekit.model.inference.exact_copy`, made once (a copy per call cost about 6 ms,
        against 1 ms for the pass over one drawing).
        """
        if self._exact is None:
            self._exact = exact_copy(self.model)

        def outputs(net: DoodleNet, x: torch.Tensor) -> list[torch.Tensor]:
            logits, embedding = net(x)
            vectors = embedding if self.which == "embedding" else net.features(x)
            return [logits.softmax(1), logits, embedding, vectors]

        probabilities, logits, embeddings, vectors = (
            out.numpy() for out in infer(self.model, images, outputs, net=self._exact)
        )
        return probabilities, logits, embeddings, vectors

    def know_limits(
        self, known_images: np.ndarray, *, zero_shot: bool = True, settings: Settings | None = None
    ) -> DoodleSearch:
        """Teach the search to say "not sure" and to guess among all 345 names; returns itself.

        Calibrates :attr:`open_set` (:func:`~doodlekit.model.openset.calibrate`) on
        ``known_images`` against the calibration categories of
        :func:`~doodlekit.model.openset.heldout_split`, rendered from their strokes; with
        ``zero_shot``, loads :attr:`all_labels` from the label vectors' source and measures
        :attr:`zero_shot_top10` on the same held-out drawings.

        Args:
            known_images: (N, 28, 28) uint8 drawings of the model's categories it did not train on
                (its validation split).
            zero_shot: also set up the zero-shot guess (only for a model whose embedding head
                was trained towards the label vectors).
            settings: where the held-out drawings are (None: the environment's).

        Raises:
            DataNotFoundError: no drawing of any calibration category can be read (offline, not fetched).
        """
        calibration, _ = heldout_split(self.categories)
        unknown, labels, missing = unknown_bitmaps(calibration, CALIBRATION_DRAWINGS, settings=settings)
        if not len(unknown):
            raise DataNotFoundError(
                f"none of the {len(calibration)} held-out categories that the 'not sure' rule is chosen on has "
                f"simplified drawings here or online (e.g. {', '.join(calibration[:3])}); fetch them first: "
                "doodlekit.data.fetch(doodlekit.model.heldout_split(search.categories)[0], "
                f"{CALIBRATION_DRAWINGS}, 'simplified')"
            )
        known = _bitmaps(known_images, "known_images")
        self.open_set = calibrate(
            self.model, self.label_vectors, known, unknown, categories=len(calibration) - len(missing)
        )
        if zero_shot:
            self.all_labels = all_label_vectors(self.label_vectors.source)
            ranks = label_ranks(embed(self.model, unknown), [calibration[i] for i in labels], self.all_labels)
            self.zero_shot_top10 = float((ranks <= 10).mean())
        return self

    def query(self, images: np.ndarray, *, top: int = 5, k: int = 8, meanings: int = 5) -> list[Answer]:
        """Answer many bitmaps at once.

        Args:
            images: (N, 28, 28) or (N, 784) uint8 bitmaps (ink 255 on paper 0).
            top: predictions per answer (at most C).
            k: nearest gallery doodles per answer (at most the gallery size).
            meanings: nearest labels by meaning per answer (at most C), and zero-shot guesses among
                all names when :attr:`all_labels` is set.

        Returns:
            One :class:`Answer` per bitmap, in order.
        """
        images = _bitmaps(images)
        if not len(images):
            return []
        with _one_thread() if len(images) <= SINGLE_THREAD_QUERY else contextlib.nullcontext():
            probabilities, logits, embeddings, vectors = self._outputs(images)
        aqd = isinstance(self.index, QuantizedIndex)  # searched with the float vectors themselves
        found = self.index.search(vectors if aqd else self.hasher.transform(vectors), k)
        unsure, confidence = np.zeros(len(images), dtype=bool), np.full(len(images), np.nan)
        if self.open_set is not None:
            scores = scores_from_outputs(logits, embeddings, self.label_vectors)
            unsure, confidence = self.open_set.unsure(scores), scores[self.open_set.score]
        names, gallery_names = np.asarray(self.categories), np.asarray(self.gallery_categories)
        answers = []
        for i, probs in enumerate(probabilities):
            best = np.argsort(-probs, kind="stable")[:top]
            near = nearest_labels(self.label_vectors, embeddings[i], meanings)
            guess = nearest_labels(self.all_labels, embeddings[i], meanings) if self.all_labels is not None else []
            answers.append(
                Answer(
                    labels=tuple(names[best].tolist()),
                    probabilities=probs[best],
                    neighbor_ids=found.ids[i],
                    neighbor_labels=tuple(gallery_names[found.labels[i]].tolist()),
                    neighbor_distances=found.distances[i],
                    thumbnails=self.gallery[found.ids[i]],
                    meanings=tuple(name for name, _ in near),
                    meaning_scores=np.array([score for _, score in near], dtype=np.float32),
                    unsure=bool(unsure[i]),
                    confidence=float(confidence[i]),
                    zero_shot=tuple(name for name, _ in guess),
                    zero_shot_scores=np.array([score for _, score in guess], dtype=np.float32),
                )
            )
        return answers

    def answer(self, image: np.ndarray, **options: Any) -> Answer:
        """Answer one (28, 28) or (784,) uint8 bitmap; ``options`` as in :meth:`query`."""
        return self.query(np.asarray(image)[None], **options)[0]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the hasher, the index and the gallery to ``path`` (.npz, atomically).

        The model is not stored (save it with :meth:`~doodlekit.model.training.Trained.save`);
        its digest and the label vectors' fingerprint are, so :meth:`load` can refuse
        to pair the index with another model.

        Raises:
            ValueError: the gallery's labels are another label set than the model's (build it again instead).
        """
        if self.gallery_categories != self.categories:
            raise ValueError("this search's gallery is labelled with other categories than the model's, which a "
                             "search file does not hold; build it again with DoodleSearch.build(...) instead")
        return write_npz(
            path,
            {
                "format": np.str_(SEARCH_FORMAT),
                "which": np.str_(self.which),
                "model_digest": np.str_(model_digest(self.model)),
                "fingerprint": np.str_(self.label_vectors.fingerprint),
                "images": self.gallery,
                "labels": self.index.labels,
                "codes": self.index.codes,
                **{_HASHER + name: array for name, array in self.hasher.to_arrays().items()},
            },
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str], trained: TrainedModel) -> DoodleSearch:
        """Read a search written by :meth:`save`, for the model it was built with.

        Raises:
            DataNotFoundError: no file at ``path``.
            CorruptFileError: not a readable doodlekit search file.
            CheckpointMismatchError: built for another model or other label vectors.
        """
        path = Path(path)
        redo = "build the search again with DoodleSearch.build(...).save(path)"
        stored = read_npz(path, _KEYS, what="doodle search file", remedy=redo)
        if str(stored["format"]) != SEARCH_FORMAT or str(stored["which"]) not in ("embedding", "features"):
            raise CorruptFileError(f"{path} is not a {SEARCH_FORMAT!r} doodle search file; {redo}")
        if str(stored["model_digest"]) != model_digest(trained.model) or (
            str(stored["fingerprint"]) != trained.label_vectors.fingerprint
        ):
            raise CheckpointMismatchError(
                f"{path} indexes the gallery with another model or other label vectors than the ones given. "
                "Load the model it was built with, or build a search for this model with DoodleSearch.build(...)."
            )
        try:
            name = str(stored[f"{_HASHER}name"])
            kind = VisualSemanticQuantizer if name == QUANTIZER_NAME else hasher_class(name, binary=True)
            names = [_HASHER + name for name in kind.array_names()]
            saved = read_npz(path, names, what="doodle search file", remedy=redo)
            hasher = kind.from_arrays({name.removeprefix(_HASHER): array for name, array in saved.items()})
            index = QuantizedIndex(hasher) if kind is VisualSemanticQuantizer else HammingIndex(hasher.n_bits)
            index.add(stored["codes"], stored["labels"])
            which = str(stored["which"])
            return cls(trained.model, trained.label_vectors, hasher, index, stored["images"], which=which)
        except CorruptFileError:
            raise
        except ValueError as exc:
            raise CorruptFileError(f"{path} holds an inconsistent doodle search ({exc}); {redo}") from exc
