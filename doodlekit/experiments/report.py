"""The results report of ``doodlekit reproduce``: results.md text, its figures, a one-line summary.

Pure renderers of the ``results`` dict that :func:`doodlekit.reproduce.run` writes as
results.json (``config``, ``variants``, ``zero_shot``, ``baselines``): each returns a string
or a matplotlib figure and writes nothing; :mod:`doodlekit.reproduce` saves them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

from doodlekit.plotting.maps import embedding_maps
from doodlekit.plotting.style import DPI

#: Variant -> how it appears in tables and figures.
VARIANT_NAMES = {"ce": "CE", "fixed_margin": "fixed margin", "adaptive_margin": "adaptive margin"}
#: Figure files, relative to the output folder.
MAP_VS_BITS_PNG = "figures/map_vs_bits.png"
UMAP_PNG = "figures/umap.png"
#: Metrics where a smaller or neutral value is not "better": never marked best in the table.
_NOT_RANKED = frozenset({"train_seconds", "eval_seconds", "miss_random_similarity"})


def metric_rows(bits: Sequence[int], k: int = 100) -> list[tuple[str, str]]:
    """(metric key, description) of every per-run metric, in table order."""
    return [
        ("top1", "top-1 accuracy, class head"),
        ("top5", "top-5 accuracy, class head"),
        (f"map@{k}", f"mAP@{k}, float cosine"),
        *((f"map@{k}_hash{b}", f"mAP@{k}, {b}-bit ITQ codes") for b in bits),
        *((f"map@{k}_lsh{b}", f"mAP@{k}, {b}-bit LSH codes") for b in bits),
        ("precision_r2_hash64", "precision within Hamming radius 2, 64-bit ITQ"),
        ("semantic_precision@10", "semantic precision@10, float cosine"),
        ("semantic_precision@10_hash64", "semantic precision@10, 64-bit ITQ"),
        ("miss_semantic_similarity", "cos(query label, label of a wrong top-1), float"),
        ("miss_semantic_similarity_hash64", "the same, 64-bit ITQ"),
        ("miss_random_similarity", "the same for a random wrong item (baseline)"),
        ("alignment_spearman", "Spearman of class-centroid vs label-vector cosines"),
        ("train_seconds", "seconds in training steps"),
        ("eval_seconds", "seconds of evaluation (UMAP excluded)"),
    ]


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
    config = results["config"]
    lines = [
        "| metric | " + " | ".join(VARIANT_NAMES.get(v, v) for v in variants) + " |",
        "|---|" + "---:|" * len(variants),
    ]
    for key, description in metric_rows(config["bits"], config["k"]):
        stats = [_stat(results, v, key) for v in variants]
        means = [m for m, _ in stats if m is not None]
        best = max(means) if means and key not in _NOT_RANKED and len(variants) > 1 else None
        cells = []
        for mean, sd in stats:
            cell = _fmt(mean, sd, seconds=key.endswith("seconds"))
            cells.append(f"**{cell}**" if best is not None and mean == best else cell)
        lines.append(f"| `{key}`: {description} | " + " | ".join(cells) + " |")
    return lines


def _zero_shot_table(results: Mapping[str, Any]) -> list[str]:
    zero_shot = results["zero_shot"]
    lines = ["| | " + " | ".join(VARIANT_NAMES.get(v, v) for v in zero_shot) + " | chance |",
             "|---|" + "---:|" * (len(zero_shot) + 1)]
    any_entry = next(iter(zero_shot.values()))
    k = results["config"]["k"]
    for key, chance_key, label in (("top1", "chance", "top-1 among unseen labels"),
                                   (f"map@{k}", f"chance_map@{k}", f"mAP@{k} among unseen items")):
        cells = [_fmt(entry[key], entry.get(f"{key}_sd")) for entry in zero_shot.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {_fmt(any_entry[chance_key])} |")
    return lines


def _compare(results: Mapping[str, Any], metric: str, a: str, b: str) -> str:
    """``adaptive margin 0.912 ± 0.010 vs CE 0.920 ± 0.004 (-0.008, within seed spread)``."""
    (ma, sa), (mb, sb) = _stat(results, a, metric), _stat(results, b, metric)
    if ma is None or mb is None:
        return f"{VARIANT_NAMES[a]} {_fmt(ma)} vs {VARIANT_NAMES[b]} {_fmt(mb)}"
    diff = ma - mb
    if sa is None or sb is None:
        verdict = "one seed: no spread to judge by"
    else:
        verdict = "beyond the seed spread" if abs(diff) > sa + sb else "within the seed spread"
    return f"{VARIANT_NAMES[a]} {_fmt(ma, sa)} vs {VARIANT_NAMES[b]} {_fmt(mb, sb)} ({diff:+.3f}, {verdict})"


def findings(results: Mapping[str, Any]) -> list[str]:
    """Plain statements comparing the adaptive margin with CE and the fixed margin, metric by metric.

    A difference is called "beyond the seed spread" when it exceeds the sum of the two
    standard deviations over seeds (a rough rule; with one seed no call is made).
    """
    k = results["config"]["k"]
    metrics = (("top1", "top-1"), (f"map@{k}", f"mAP@{k} (float)"), (f"map@{k}_hash64", f"mAP@{k} (64-bit ITQ)"),
               ("semantic_precision@10", "semantic precision@10"),
               ("miss_semantic_similarity", "label cosine of wrong top-1 results"),
               ("alignment_spearman", "alignment with the word vectors"))
    out = []
    for metric, label in metrics:
        out.append(f"{label}: {_compare(results, metric, 'adaptive_margin', 'ce')}; "
                   f"{_compare(results, metric, 'adaptive_margin', 'fixed_margin')}.")
    random_miss, _ = _stat(results, "adaptive_margin", "miss_random_similarity")
    out.append(f"a random wrong item would have label cosine {_fmt(random_miss)}: misses above it are "
               "semantically closer than chance.")
    zs = results["zero_shot"]
    out.append(
        f"zero-shot on {', '.join(results['config']['heldout'])}: top-1 "
        + ", ".join(f"{VARIANT_NAMES[v]} {_fmt(e['top1'])}" for v, e in zs.items())
        + f" (chance {_fmt(next(iter(zs.values()))['chance'])}); mAP@{k} "
        + ", ".join(f"{VARIANT_NAMES[v]} {_fmt(e[f'map@{k}'])}" for v, e in zs.items())
        + f" (chance {_fmt(next(iter(zs.values()))[f'chance_map@{k}'])})."
    )
    return out


def summary_line(results: Mapping[str, Any]) -> str:
    """One honest line: adaptive margin vs CE on accuracy, mAP, misses and zero-shot."""
    k = results["config"]["k"]
    n_seeds = len(results["config"]["seeds"])

    def pair(metric: str) -> str:
        (ma, sa), (mb, sb) = _stat(results, "adaptive_margin", metric), _stat(results, "ce", metric)
        return f"{_fmt(ma, sa)} vs CE {_fmt(mb, sb)}"

    miss, _ = _stat(results, "adaptive_margin", "miss_semantic_similarity")
    random_miss, _ = _stat(results, "adaptive_margin", "miss_random_similarity")
    zs = results["zero_shot"]
    return (
        f"adaptive margin ({n_seeds} seed{'s' * (n_seeds > 1)}): top-1 {pair('top1')}; "
        f"mAP@{k} {pair(f'map@{k}')}, 64-bit ITQ {pair(f'map@{k}_hash64')}; "
        f"misses land on labels with cos {_fmt(miss)} vs {_fmt(random_miss)} random; "
        f"zero-shot top-1 {_fmt(zs['adaptive_margin']['top1'])} vs chance {_fmt(zs['adaptive_margin']['chance'])}"
        f" (CE + ridge map {_fmt(zs['ce']['top1'])})"
    )


def map_vs_bits_figure(results: Mapping[str, Any], size: float = 4.2) -> Figure:
    """mAP@k against code length per variant: ITQ (solid) and LSH (dotted) codes, float cosine (dashed).

    Points are means over seeds with the standard deviation as error bars.
    """
    bits = list(results["config"]["bits"])
    k = results["config"]["k"]
    fig = Figure(figsize=(size + 1.6, size * 0.75), dpi=DPI)
    ax = fig.add_subplot()
    for i, variant in enumerate(results["variants"]):
        colour = f"C{i}"
        name = VARIANT_NAMES.get(variant, variant)
        for key, style, hasher in ((f"map@{k}_hash", "-", "ITQ"), (f"map@{k}_lsh", ":", "LSH")):
            stats = [_stat(results, variant, f"{key}{b}") for b in bits]
            ax.errorbar(bits, [m for m, _ in stats], yerr=[sd or 0.0 for _, sd in stats], color=colour, ls=style,
                        marker="o", ms=3, capsize=2, label=f"{name}, {hasher}")
        ax.axhline(_stat(results, variant, f"map@{k}")[0], color=colour, ls="--", lw=1, label=f"{name}, float")
    ax.set_xscale("log", base=2)
    ax.set_xticks(bits)
    ax.get_xaxis().set_major_formatter(ScalarFormatter())
    ax.set_xlabel("code length (bits)", fontsize=9)
    ax.set_ylabel(f"mAP@{k}", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout(pad=0.3)
    return fig


def umap_figure(maps: Mapping[str, tuple[np.ndarray, np.ndarray]], names: Sequence[str]) -> Figure:
    """UMAP panels, one per variant (:func:`doodlekit.plotting.embedding_maps`); keys are variants."""
    return embedding_maps({VARIANT_NAMES.get(v, v): m for v, m in maps.items()}, names, size=5.5, point_size=5.0)


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
        f"This configuration is the kit's `{check['reference']}` reference, run on {_machine({'machine': check['machine']})} "
        f"with torch {check['versions'].get('torch', '?')}: {verdict}. Training on another CPU changes the last digits "
        "of every step, so a run here is compared with the reference like another seed, within the tolerance.",
        "",
        "| variant | metric | this run | reference | tolerance | within |",
        "|---|---|---|---|---|---|",
    ]
    for row in check["rows"]:
        lines.append(f"| {VARIANT_NAMES.get(row['variant'], row['variant'])} | {row['metric']} | {_fmt(row['value'])} | "
                     f"{_fmt(row['reference'])} | ±{row['tolerance']:.2f} | {'yes' if row['within'] else '**no**'} |")
    return lines


def markdown(results: Mapping[str, Any]) -> str:
    """results.md: configuration, protocol, the tables (mean ± sd over seeds), findings and figures."""
    config = results["config"]
    k = config["k"]
    versions = ", ".join(f"{name} {version}" for name, version in config["versions"].items())
    recipe = ", ".join(f"{name}={value}" for name, value in config["recipe"].items())
    seen = [c for c in config["categories"] if c not in config["heldout"]]
    n_runs = len(results["variants"]) * len(config["seeds"])
    lines = [
        "# doodlekit reproduce: CE vs fixed margin vs adaptive margin",
        "",
        f"**Summary.** {results['summary']}",
        "",
        "## Setup",
        "",
        f"- {len(seen)} seen categories: {', '.join(seen)}",
        f"- held out for zero-shot: {', '.join(config['heldout'])}",
        f"- {config['per_class']} drawings per category (80/10/10 split, split seed {config['split_seed']}), "
        f"epochs {config['epochs']}, seeds {', '.join(map(str, config['seeds']))}; "
        f"label vectors `{config['vectors']}`",
        f"- training settings, the same for every run (only the loss and the seed differ): {recipe}",
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
        f"Chance levels: top-1 {_fmt(results['baselines']['top1'])}, "
        f"mAP@{k} of a random ranking {_fmt(results['baselines'][f'map@{k}'])}.",
        "",
        "## Zero-shot (categories never trained on)",
        "",
        *_zero_shot_table(results),
        "",
        f"CE: {results['zero_shot']['ce']['method']}.",
        "",
        "## Findings",
        "",
        *(f"- {line}" for line in findings(results)),
        "",
        *_reference_section(results),
        "",
        "## Figures",
        "",
        f"![mAP@{k} against code length]({MAP_VS_BITS_PNG})",
        "",
        f"![UMAP of each variant's retrieval vectors, seed {config['seeds'][0]}]({UMAP_PNG})",
        "",
    ]
    return "\n".join(lines)
