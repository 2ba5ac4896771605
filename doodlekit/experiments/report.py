"""The results of ``doodlekit reproduce``: the names of its numbers, and results.md, its figures and summary.

:class:`ResultKeys` names every number a run writes (:data:`KEYS`, built from
:mod:`doodlekit.defaults`); :mod:`~doodlekit.experiments.reproduce` writes by it and the renderers
here read by it. The renderers take the ``results`` dict that
:func:`~doodlekit.experiments.reproduce.run` writes as results.json (``config``, ``variants``,
``zero_shot``, ``baselines``); each returns a string or a matplotlib figure and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from matplotlib.figure import Figure

from doodlekit.defaults import BITS, CODE_BITS, CODER_BITS, JOINT_BITS, K
from doodlekit.model.variants import VARIANTS, VECTOR_KINDS, display_name
from doodlekit.plotting.maps import embedding_maps
from doodlekit.plotting.retrieval import BitsCurve, bits_figure

#: Figure files, relative to the output folder.
MAP_VS_BITS_PNG = "figures/map_vs_bits.png"
UMAP_PNG = "figures/umap.png"
#: Ranking cut-off of the semantic precision numbers (``semantic_precision@10``).
SEMANTIC_TOP = 10
#: Hamming radius of the precision-within-a-radius number (``precision_r2_hash64``).
RADIUS = 2
#: Hasher -> its part of a hashed mAP key (ITQ's keys say ``hash``: ``map@100_hash64``).
_CODE_KEYS = {"itq": "hash", "lsh": "lsh"}
#: The coders compared at equal bits (:meth:`ResultKeys.coder`), in words: binary codes ranked by Hamming
#: distance, and quantizers ranked by asymmetric distance (AQD). "aqd" is DVSQ's quantizer fitted after
#: training (semantic variants); "joint" the one a variant learnt with the network, at its width only.
CODERS = {"itq": "ITQ (Hamming)", "lsh": "LSH (Hamming)", "pq": "PQ, post-hoc (AQD)",
          "aqd": "DVSQ quantizer, post-hoc (AQD)", "joint": "DVSQ quantizer, joint (AQD)"}


@dataclass(frozen=True)
class Metric:
    """One row of the results table: a per-run number's key, what it is, and whether larger is better."""

    key: str
    description: str
    ranked: bool = True


@dataclass(frozen=True)
class ResultKeys:
    """The names of ``reproduce``'s numbers: the one table that :mod:`~doodlekit.experiments.reproduce`
    writes by and this report reads by.

    Per run (runs/*.json ``metrics``; results.json ``variants``, with mean / sd / per_seed): the
    :meth:`metrics`. Zero-shot (``zero_shot``): :attr:`top1` and :meth:`map`, with ``_sd``;
    chance levels: :attr:`chance_map`. :data:`KEYS` are the keys a run writes now;
    :meth:`of` gives those of a results dict (its ``config`` records ``k`` and ``bits``).

    Attributes:
        k: ranking cut-off of mAP@k; bits: code widths of the mAP curves; code_bits: the width of
        the other hashed numbers (``_hash64``); top: cut-off of semantic precision; radius:
        Hamming radius of the precision within a radius.
    """

    k: int = K
    bits: tuple[int, ...] = BITS
    code_bits: int = CODE_BITS
    top: int = SEMANTIC_TOP
    radius: int = RADIUS
    coder_bits: tuple[int, ...] = CODER_BITS
    joint_bits: int = JOINT_BITS

    top1: ClassVar[str] = "top1"
    top5: ClassVar[str] = "top5"
    miss: ClassVar[str] = "miss_semantic_similarity"
    miss_random: ClassVar[str] = "miss_random_similarity"
    alignment: ClassVar[str] = "alignment_spearman"
    train_seconds: ClassVar[str] = "train_seconds"
    eval_seconds: ClassVar[str] = "eval_seconds"

    @classmethod
    def of(cls, results: Mapping[str, Any]) -> ResultKeys:
        """The keys of a results dict, by the ``k`` and ``bits`` its ``config`` records."""
        config = results["config"]
        return cls(k=config["k"], bits=tuple(config["bits"]), coder_bits=tuple(config.get("coder_bits", CODER_BITS)))

    def map(self, hasher: str | None = None, bits: int | None = None) -> str:
        """mAP@k's key: ``map@100`` (float cosine), ``map@100_hash64`` (ITQ codes), ``map@100_lsh64`` (LSH)."""
        return f"map@{self.k}" if hasher is None else f"map@{self.k}_{_CODE_KEYS[hasher]}{bits}"

    def coder(self, coder: str, bits: int | None = None, *, deephash: bool = False) -> str:
        """mAP@k of a :data:`CODERS` coder (None: float cosine), in the kit's convention or DeepHash's:
        ``map@100_pq16``, ``map_deephash@100_aqd16``, ``map_deephash@100`` (ITQ says ``hash`` as in :meth:`map`)."""
        head = f"map_deephash@{self.k}" if deephash else f"map@{self.k}"
        return head if coder is None else f"{head}_{_CODE_KEYS.get(coder, coder)}{bits}"

    def coder_semantic_precision(self, coder: str) -> str:
        """Semantic precision@top of a :data:`CODERS` coder at :attr:`joint_bits`: ``semantic_precision@10_aqd32``."""
        return f"{self.semantic_precision}_{_CODE_KEYS.get(coder, coder)}{self.joint_bits}"

    def coder_metrics(self) -> tuple[Metric, ...]:
        """The coders' numbers (:data:`CODERS` at :attr:`coder_bits`, "joint" at :attr:`joint_bits` only):
        mAP@k in the kit's convention where :meth:`metrics` has no row for it yet, DeepHash's, and
        semantic precision at :attr:`joint_bits`; None where a coder does not apply to a variant."""
        k = self.k
        widths = [(coder, b) for coder in CODERS for b in (self.coder_bits if coder != "joint" else (self.joint_bits,))]
        return (
            *(Metric(self.coder(c, b), f"mAP@{k}, {b}-bit {CODERS[c]}") for c, b in widths
              if c not in _CODE_KEYS or b not in self.bits),
            Metric(self.coder(None, deephash=True), f"mAP@{k} (DeepHash's convention), float cosine"),
            *(Metric(self.coder(c, b, deephash=True), f"mAP@{k} (DeepHash's convention), {b}-bit {CODERS[c]}")
              for c, b in widths),
            *(Metric(self.coder_semantic_precision(c), f"semantic precision@{self.top}, {self.joint_bits}-bit "
                     f"{CODERS[c]}") for c in CODERS),
        )

    def hashed(self, key: str) -> str:
        """The key of the same number with :attr:`code_bits`-bit ITQ codes: ``miss_semantic_similarity_hash64``."""
        return f"{key}_hash{self.code_bits}"

    @property
    def semantic_precision(self) -> str:
        """``semantic_precision@10``, with float cosine."""
        return f"semantic_precision@{self.top}"

    @property
    def precision_radius(self) -> str:
        """``precision_r2_hash64``: precision within the Hamming radius."""
        return self.hashed(f"precision_r{self.radius}")

    @property
    def chance_map(self) -> str:
        """``chance_map@100``: the expected mAP@k of a random ranking."""
        return f"chance_map@{self.k}"

    @staticmethod
    def zero_shot(key: str) -> str:
        """The key of a zero-shot number among the per-metric tolerances: ``zero_shot_top1``."""
        return f"zero_shot_{key}"

    def metrics(self) -> tuple[Metric, ...]:
        """Every per-run number, in table order."""
        k, itq = self.k, f"{self.code_bits}-bit ITQ"
        return (
            Metric(self.top1, "top-1 accuracy, class head"),
            Metric(self.top5, "top-5 accuracy, class head"),
            Metric(self.map(), f"mAP@{k}, float cosine"),
            *(Metric(self.map("itq", b), f"mAP@{k}, {b}-bit ITQ codes") for b in self.bits),
            *(Metric(self.map("lsh", b), f"mAP@{k}, {b}-bit LSH codes") for b in self.bits),
            Metric(self.precision_radius, f"precision within Hamming radius {self.radius}, {itq}"),
            Metric(self.semantic_precision, f"semantic precision@{self.top}, float cosine"),
            Metric(self.hashed(self.semantic_precision), f"semantic precision@{self.top}, {itq}"),
            Metric(self.miss, "cos(query label, label of a wrong top-1), float"),
            Metric(self.hashed(self.miss), f"the same, {itq}"),
            Metric(self.miss_random, "the same for a random wrong item (baseline)", ranked=False),
            Metric(self.alignment, "Spearman of class-centroid vs label-vector cosines"),
            *self.coder_metrics(),
            Metric(self.train_seconds, "seconds in training steps", ranked=False),
            Metric(self.eval_seconds, "seconds of evaluation (UMAP excluded)", ranked=False),
        )


#: The keys of the numbers ``reproduce`` writes (the kit's :mod:`~doodlekit.defaults`).
KEYS = ResultKeys()


def _fmt(value: float | None, sd: float | None = None, seconds: bool = False) -> str:
    """``0.912 ± 0.010``; seconds without decimals; ``n/a`` for None."""
    if value is None:
        return "n/a"
    digits = 0 if seconds else 3
    text = f"{value:.{digits}f}"
    return f"{text} ± {sd:.{digits}f}" if sd is not None else text


def _stat(results: Mapping[str, Any], variant: str, metric: str) -> tuple[float | None, float | None]:
    entry = results["variants"][variant].get(metric, {})
    return entry.get("mean"), entry.get("sd")


def _table(results: Mapping[str, Any]) -> list[str]:
    variants = list(results["variants"])
    lines = [
        "| metric | " + " | ".join(display_name(v) for v in variants) + " |",
        "|---|" + "---:|" * len(variants),
    ]
    for metric in ResultKeys.of(results).metrics():
        stats = [_stat(results, v, metric.key) for v in variants]
        means = [m for m, _ in stats if m is not None]
        best = max(means) if means and metric.ranked and len(variants) > 1 else None
        cells = []
        for mean, sd in stats:
            cell = _fmt(mean, sd, seconds=metric.key.endswith("seconds"))
            cells.append(f"**{cell}**" if best is not None and mean == best else cell)
        lines.append(f"| `{metric.key}`: {metric.description} | " + " | ".join(cells) + " |")
    return lines


def _coder_table(results: Mapping[str, Any]) -> list[str]:
    """Every coder at every width (rows) per variant: mAP@k in the kit's / DeepHash's convention."""
    keys = ResultKeys.of(results)
    variants = list(results["variants"])
    lines = ["| coder | bits | " + " | ".join(display_name(v) for v in variants) + " |",
             "|---|---:|" + "---:|" * len(variants)]
    for coder, bits in [(None, None), *((c, b) for c in CODERS for b in keys.coder_bits)]:
        cells = []
        for variant in variants:
            kit = _stat(results, variant, keys.map() if coder is None else keys.coder(coder, bits))
            deephash = _stat(results, variant, keys.coder(coder, bits, deephash=True))
            cells.append("" if deephash[0] is None else f"{_fmt(*kit)} / {_fmt(*deephash)}")
        if any(cells):
            lines.append(f"| {CODERS[coder] if coder else 'float cosine'} | {bits or ''} | " + " | ".join(cells) + " |")
    lines += ["", f"Semantic precision@{keys.top} at {keys.joint_bits} bits:", "",
              "| coder | " + " | ".join(display_name(v) for v in variants) + " |", "|---|" + "---:|" * len(variants)]
    for coder in CODERS:
        cells = [_fmt(*_stat(results, v, keys.coder_semantic_precision(coder))) for v in variants]
        if any(cell != "n/a" for cell in cells):
            lines.append(f"| {CODERS[coder]} | " + " | ".join(cells) + " |")
    return lines


def quantizer_findings(results: Mapping[str, Any]) -> list[str]:
    """Whether the jointly learnt quantizer beats post-hoc coding at its width, in plain words."""
    keys = ResultKeys.of(results)
    if "dvsq" not in results["variants"]:
        return []
    bits = keys.joint_bits
    joint = ("dvsq", keys.coder("joint", bits))
    rivals = (("dvsq", keys.coder("aqd", bits)), ("adaptive_margin", keys.coder("aqd", bits)),
              ("adaptive_margin", keys.coder("pq", bits)), ("ce", keys.coder("pq", bits)),
              ("adaptive_margin", keys.coder("itq", bits)))
    (mj, sj) = _stat(results, *joint)
    if mj is None:
        return []
    parts = []
    for variant, metric in rivals:
        mr, sr = _stat(results, variant, metric)
        if mr is None:
            continue
        verdict = ("one seed: no spread to judge by" if sj is None or sr is None else
                   "beyond the seed spread" if abs(mj - mr) > sj + sr else "within the seed spread")
        parts.append(f"{display_name(variant)} `{metric}` {_fmt(mr, sr)} ({mj - mr:+.3f}, {verdict})")
    best = max((_stat(results, v, m)[0] or -1.0, f"{display_name(v)} `{m}`") for v, m in rivals)
    verdict = "beats" if mj > best[0] else "does not beat"
    return [f"joint quantizer at {bits} bits: `{joint[1]}` {_fmt(mj, sj)} vs " + "; ".join(parts)
            + f". The joint quantizer {verdict} the best post-hoc coding here ({best[1]})."]


def _zero_shot_table(results: Mapping[str, Any]) -> list[str]:
    zero_shot = results["zero_shot"]
    lines = ["| | " + " | ".join(display_name(v) for v in zero_shot) + " | chance |",
             "|---|" + "---:|" * (len(zero_shot) + 1)]
    any_entry = next(iter(zero_shot.values()))
    keys = ResultKeys.of(results)
    for key, chance_key, label in ((keys.top1, "chance", "top-1 among unseen labels"),
                                   (keys.map(), keys.chance_map, f"mAP@{keys.k} among unseen items")):
        cells = [_fmt(entry[key], entry.get(f"{key}_sd")) for entry in zero_shot.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {_fmt(any_entry[chance_key])} |")
    return lines


def _compare(results: Mapping[str, Any], metric: str, a: str, b: str) -> str:
    """``adaptive margin 0.912 ± 0.010 vs CE 0.920 ± 0.004 (-0.008, within seed spread)``."""
    (ma, sa), (mb, sb) = _stat(results, a, metric), _stat(results, b, metric)
    if ma is None or mb is None:
        return f"{display_name(a)} {_fmt(ma)} vs {display_name(b)} {_fmt(mb)}"
    diff = ma - mb
    if sa is None or sb is None:
        verdict = "one seed: no spread to judge by"
    else:
        verdict = "beyond the seed spread" if abs(diff) > sa + sb else "within the seed spread"
    return f"{display_name(a)} {_fmt(ma, sa)} vs {display_name(b)} {_fmt(mb, sb)} ({diff:+.3f}, {verdict})"


def findings(results: Mapping[str, Any]) -> list[str]:
    """Plain statements comparing the adaptive margin with CE and the fixed margin, metric by metric.

    A difference is called "beyond the seed spread" when it exceeds the sum of the two
    standard deviations over seeds (a rough rule; with one seed no call is made).
    """
    keys = ResultKeys.of(results)
    k, bits = keys.k, keys.code_bits
    metrics = ((keys.top1, "top-1"), (keys.map(), f"mAP@{k} (float)"),
               (keys.map("itq", bits), f"mAP@{k} ({bits}-bit ITQ)"),
               (keys.semantic_precision, f"semantic precision@{keys.top}"),
               (keys.miss, "label cosine of wrong top-1 results"),
               (keys.alignment, "alignment with the word vectors"))
    out = []
    for metric, label in metrics:
        out.append(f"{label}: {_compare(results, metric, 'adaptive_margin', 'ce')}; "
                   f"{_compare(results, metric, 'adaptive_margin', 'fixed_margin')}.")
    random_miss, _ = _stat(results, "adaptive_margin", keys.miss_random)
    out.append(f"a random wrong item would have label cosine {_fmt(random_miss)}: misses above it are "
               "semantically closer than chance.")
    zs = results["zero_shot"]
    out.append(
        f"zero-shot on {', '.join(results['config']['heldout'])}: top-1 "
        + ", ".join(f"{display_name(v)} {_fmt(e[keys.top1])}" for v, e in zs.items())
        + f" (chance {_fmt(next(iter(zs.values()))['chance'])}); mAP@{k} "
        + ", ".join(f"{display_name(v)} {_fmt(e[keys.map()])}" for v, e in zs.items())
        + f" (chance {_fmt(next(iter(zs.values()))[keys.chance_map])})."
    )
    return out


def summary_line(results: Mapping[str, Any]) -> str:
    """One honest line: adaptive margin vs CE on accuracy, mAP, misses and zero-shot."""
    keys = ResultKeys.of(results)
    n_seeds = len(results["config"]["seeds"])

    def pair(metric: str) -> str:
        (ma, sa), (mb, sb) = _stat(results, "adaptive_margin", metric), _stat(results, "ce", metric)
        return f"{_fmt(ma, sa)} vs CE {_fmt(mb, sb)}"

    miss, _ = _stat(results, "adaptive_margin", keys.miss)
    random_miss, _ = _stat(results, "adaptive_margin", keys.miss_random)
    zs = results["zero_shot"]
    return (
        f"adaptive margin ({n_seeds} seed{'s' * (n_seeds > 1)}): top-1 {pair(keys.top1)}; "
        f"mAP@{keys.k} {pair(keys.map())}, {keys.code_bits}-bit ITQ {pair(keys.map('itq', keys.code_bits))}; "
        f"misses land on labels with cos {_fmt(miss)} vs {_fmt(random_miss)} random; "
        f"zero-shot top-1 {_fmt(zs['adaptive_margin'][keys.top1])} vs chance {_fmt(zs['adaptive_margin']['chance'])}"
        f" (CE + ridge map {_fmt(zs['ce'][keys.top1])})"
    )


def map_vs_bits_figure(results: Mapping[str, Any]) -> Figure:
    """mAP@k against code length per variant (:func:`doodlekit.plotting.bits_figure`): ITQ (solid) and
    LSH (dotted) codes, float cosine (dashed); points are means over seeds, error bars their sd."""
    keys = ResultKeys.of(results)

    def curve(variant: str, hasher: str) -> BitsCurve:
        stats = {b: _stat(results, variant, keys.map(hasher, b)) for b in keys.bits}
        spread = {b: sd for b, (_, sd) in stats.items()}
        return BitsCurve(variant, hasher.upper(), {b: mean for b, (mean, _) in stats.items()},
                         spread if any(sd is not None for sd in spread.values()) else None)

    curves = [curve(variant, hasher) for variant in results["variants"] for hasher in _CODE_KEYS]
    floats = {variant: _stat(results, variant, keys.map())[0] for variant in results["variants"]}
    return bits_figure(curves, floats, ylabel=f"mAP@{keys.k}")


def umap_figure(maps: Mapping[str, tuple[np.ndarray, np.ndarray]], names: Sequence[str]) -> Figure:
    """UMAP panels, one per variant (:func:`doodlekit.plotting.embedding_maps` with its defaults)."""
    return embedding_maps({display_name(v): m for v, m in maps.items()}, names)


def _machine(config: Mapping[str, Any]) -> str:
    """The machine a run was made on, in words (older results.json files record less)."""
    machine = config.get("machine", {})
    parts = [machine.get("platform", "unknown platform"), f"{machine.get('cpus', '?')} CPUs"]
    if "torch_cpu_capability" in machine:
        parts.append(f"torch CPU kernels {machine['torch_cpu_capability']}")
    return ", ".join(parts)


def _reference_section(results: Mapping[str, Any]) -> list[str]:
    """Against the shipped reference run of the same configuration (none: a line saying so)."""
    check = results.get("reference_check")
    if not check:
        return ["## Against the shipped reference", "",
                "No shipped reference run has this configuration (the kit ships `--quick` and the defaults)."]
    verdict = "every number is within its tolerance" if check["within"] else "some numbers are OUTSIDE their tolerance"
    lines = [
        "## Against the shipped reference",
        "",
        f"This configuration is the kit's `{check['reference']}` reference, run on "
        f"{_machine({'machine': check['machine']})} with torch {check['versions'].get('torch', '?')}: {verdict}. "
        "Training on another CPU changes the last digits "
        "of every step, so a run here is compared with the reference like another seed, within the tolerance.",
        "",
        "| variant | metric | this run | reference | tolerance | within |",
        "|---|---|---|---|---|---|",
    ]
    for row in check["rows"]:
        lines.append(f"| {display_name(row['variant'])} | {row['metric']} | {_fmt(row['value'])} | "
                     f"{_fmt(row['reference'])} | ±{row['tolerance']:.2f} | {'yes' if row['within'] else '**no**'} |")
    return lines


def markdown(results: Mapping[str, Any]) -> str:
    """results.md: configuration, protocol, the tables (mean ± sd over seeds), findings and figures."""
    config = results["config"]
    keys = ResultKeys.of(results)
    versions = ", ".join(f"{name} {version}" for name, version in config["versions"].items())
    recipe = ", ".join(f"{name}={value}" for name, value in config["recipe"].items())
    seen = [c for c in config["categories"] if c not in config["heldout"]]
    n_runs = len(results["variants"]) * len(config["seeds"])
    lines = [
        "# doodlekit reproduce: CE vs fixed margin vs adaptive margin (+ joint quantizer)",
        "",
        f"**Summary.** {results['summary']}",
        "",
        "## Setup",
        "",
        *([f"- dataset: {config['dataset']}"] if "dataset" in config else []),
        f"- {len(seen)} seen categories: {', '.join(seen)}",
        f"- held out for zero-shot: {', '.join(config['heldout'])}",
        f"- {config['per_class']} drawings per category (80/10/10 split, split seed {config['split_seed']}), "
        f"epochs {config['epochs']}, seeds {', '.join(map(str, config['seeds']))}; "
        f"label vectors `{config['vectors']}`",
        f"- training settings, the same for every run (only the loss and the seed differ): {recipe}",
        *(f"- {display_name(v)}: {VARIANTS[v].loss}; retrieves with {VECTOR_KINDS[VARIANTS[v].retrieves_with]}"
          for v in results["variants"] if v in VARIANTS),
        f"- {versions}",
        f"- machine: {_machine(config)}",
        f"- wall time {results['elapsed_seconds']:.0f} s; the {n_runs} runs took {results['runs_seconds']:.0f} s "
        f"in all ({results['reused_runs']} read back from runs/ by a resumed run)",
        "",
        "## Protocol",
        "",
        *(f"- {line}" for line in results["protocol"]),
        "",
        "## Results (mean ± sd over seeds; best mean in bold)",
        "",
        *_table(results),
        "",
        f"Chance levels: top-1 {_fmt(results['baselines'][keys.top1])}, "
        f"mAP@{keys.k} of a random ranking {_fmt(results['baselines'][keys.map()])}.",
        "",
        f"## Coders at equal bits (mAP@{keys.k}: the kit's / DeepHash's convention; mean ± sd over seeds)",
        "",
        *_coder_table(results),
        "",
        "## Zero-shot (categories never trained on)",
        "",
        *_zero_shot_table(results),
        "",
        f"CE: {results['zero_shot']['ce']['method']}.",
        "",
        "## Findings",
        "",
        *(f"- {line}" for line in findings(results) + quantizer_findings(results)),
        "",
        *_reference_section(results),
        "",
        "## Figures",
        "",
        f"![mAP@{keys.k} against code length]({MAP_VS_BITS_PNG})",
        "",
        f"![UMAP of each variant's retrieval vectors, seed {config['seeds'][0]}]({UMAP_PNG})",
        "",
    ]
    return "\n".join(lines)
