"""BENCHMARKS.md's generated part: markdown tables from every results file.

The tables go between the `<!-- bench:start -->` and `<!-- bench:end -->` markers; the rest
of BENCHMARKS.md is written by hand and kept as it is.
"""

import json
from pathlib import Path
from typing import Any, Callable, Optional

from wasabi import MarkdownRenderer

from .fairness import DID_NOT_LEARN, FAIRNESS_RULES, TASKS
from .render_deploy import replace_block as replace_marked_block
from .settings import BENCHMARKS_MD

MARK_START, MARK_END = "<!-- bench:start -->", "<!-- bench:end -->"
Section = dict[str, Any]
LEGACY_NOTE = ("**Superseded** (written before issue 11's fair baseline: HF without the fused "
               "GELU, reduced precisions compared with HF fp32, HF accuracy at a rate tuned for "
               "spacy-albert). Its tables are in the git history; do not quote them.\n")

# (label, where the value is, bar): the speed targets, on base/short best-round ratios.
TARGETS = [
    ("fastest ours ≥ 1.6× fastest HF (headline rule)", ("headline", "base/short"), 1.6),
    ("fp32 joint ≥ 1.8× HF raw two-model fp32 (fused GELU on both sides)",
     ("ratio", "spacy_joint_fp32/hf_raw_two"), 1.8),
    ("int8 joint ≥ 1.5× our own fp32 joint", ("ratio", "spacy_joint_int8/spacy_joint_fp32"), 1.5),
]


def targets(results: Section) -> list[dict[str, Any]]:
    """The TARGETS rows (best-round ratio, median per-round ratio, verdict) for base/short."""
    section = results.get("inference", {}).get("base/short")
    if not section:
        return []
    rows = []
    for label, (kind, key), bar in TARGETS:
        if kind == "headline":
            pair = results.get("headlines", {}).get(key) or {}
            value, median = pair.get("ratio"), pair.get("ratio_median")
            if value is not None:
                label = f"{label}: {pair['ours']} vs {pair['hf']}"
        else:
            value, median = section["ratios_best"].get(key), section["ratios"].get(key)
        if value is None:
            continue
        verdict = "met" if value >= bar else f"missed by {bar - value:.2f}×"
        rows.append({"target": label, "measured": value, "median": median, "bar": bar,
                     "verdict": verdict})
    return rows


def fmt(value: Any, digits: int = 2) -> str:
    """A float with `digits` decimals, "–" for a missing value, anything else as str."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(header: list[str], aligns: str, rows: list[list[str]]) -> str:
    """A markdown table and the blank line after it; aligns has one "l" or "r" per column."""
    return MarkdownRenderer().table(rows, header, aligns=list(aligns)) + "\n"  # type: ignore


def heading(meta: Section, mode: str) -> list[str]:
    """The run's title and its settings line (CPU, flags, emulation, load)."""
    partial = ("" if meta.get("complete", True) else
               " (**partial**: the run was still going or was stopped)")
    emulated = (" **AVX2-only CPU emulated** (library caps in the command)."
                if meta.get("emulated") else "")
    return [f"### `{meta['command']}` (results/{mode}.json)\n",
            f"{meta['date']}, {meta['cpu']}, torch {meta['torch']}, {meta['threads']} threads, "
            f"load average {meta['loadavg_start']} at start / {meta['loadavg_end']} at end, "
            f"{meta['seconds']:.0f} s in all{partial}.{emulated}\n"]


def headline_table(headlines: dict[str, Optional[Section]]) -> list[str]:
    body = []
    for key, pair in headlines.items():
        if pair:
            unmeasured = ", ".join(pair["accuracy_loss_not_measured"]) or "–"
            body.append([key, pair["ours"], pair["hf"], f"{pair['ratio']:.2f}×",
                         f"{fmt(pair.get('ratio_median'))}×", unmeasured])
    return ["#### Headline: our fastest vs HF's fastest (fairness rule 3)\n",
            table(["run", "ours", "HF", "× (best round)", "× (median round)",
                   "accuracy loss not measured for"], "lllrrl", body)]


def inference_tables(key: str, section: Section) -> list[str]:
    """words/s per contender and the speed ratios of one inference run."""
    speeds = [[name, f"{row['words_per_s_best']:.0f}", f"{row['words_per_s_median']:.0f}"]
              for name, row in section["contenders"].items()]
    ratios = [[name, fmt(value), fmt(section.get("ratios_best", {}).get(name))]
              for name, value in section["ratios"].items()]
    return [
        f"#### Inference: {key} ({section['texts']} texts, {section['words']} words, "
        f"batch {section['batch_size']}, {section['rounds']} rounds)\n",
        table(["contender", "words/s (best round)", "words/s (median)"], "lrr", speeds),
        table(["ratio", "× (median of per-round ratios)", "× (best round vs best round)"], "lrr",
              ratios),
    ]


def targets_table(rows: list[Section]) -> list[str]:
    body = [[row["target"], f"{fmt(row['measured'])}×", f"{fmt(row.get('median'))}×",
             row["verdict"]] for row in rows]
    return ["#### Targets (base model, short texts; best round vs best round)\n",
            table(["target", "measured", "median per-round ratio", "met?"], "lrrl", body)]


def agreement_table(agreement: dict[str, Section]) -> list[str]:
    body = [[name, f"{row['same_top_cat']:.3f}", f"{row['same_ents']:.3f}"]
            for name, row in agreement.items()]
    return ["#### Fast path vs fp32 predictions (base, untrained heads; short texts)\n",
            table(["path", "same top category", "same entities"], "lrr", body)]


def rss_table(rss: dict[str, dict[str, Section]]) -> list[str]:
    body = [[key, name, fmt(row.get("after_imports_mb"), 0), fmt(row.get("after_load_mb"), 0),
             fmt(row.get("peak_mb"), 0)] for key, rows in rss.items() for name, row in rows.items()]
    return ["#### Peak RSS (one child process per contender)\n",
            table(["run", "contender", "after imports MB", "after load MB", "peak MB"], "llrrr",
                  body)]


def disk_table(disk: dict[str, Section]) -> list[str]:
    columns = ["fp32_mb", "int8_mb", "ratio", "fp32_weights_mb", "int8_weights_mb",
               "weights_ratio"]
    body = [[size, *(f"{row[column]:.2f}" for column in columns)] for size, row in disk.items()]
    header = ["model", "fp32 pipeline MB", "int8 pipeline MB", "smaller ×", "fp32 weights MB",
              "int8 weights MB", "smaller ×"]
    return ["#### On-disk size\n", table(header, "lrrrrrr", body)]


def training_table(training: dict[str, Section]) -> list[str]:
    body = [[size, f"{row['spacy_words_per_s']:.0f}", f"{row['hf_words_per_s']:.0f}",
             f"{row['ratio_spacy_over_hf']:.2f}"] for size, row in training.items()]
    first = next(iter(training.values()))
    return [f"#### Training throughput ({first['steps']} timed steps, {first['batch']})\n",
            f"Timed on both sides: {first['timed']}.\n",
            table(["model size", "spaCy update (as `spacy train`) words/s", "HF loop words/s",
                   "ratio"], "lrrr", body)]


def training_profile_table(profile: dict[str, Section]) -> list[str]:
    sizes = list(profile)
    first = profile[sizes[0]]
    body = [[phase] + [f"{profile[size]['spacy_ms_per_step'][phase]:.1f} "
                       f"({100 * profile[size]['spacy_share'][phase]:.0f} %)" for size in sizes]
            for phase in first["spacy_ms_per_step"]]
    body.append(["spaCy step, all phases"]
                + [f"{profile[size]['spacy_total_ms']:.1f}" for size in sizes])
    body.append(["HF loop, two updates (of which tokenization)"]
                + [f"{profile[size]['hf_total_ms']:.1f} ({profile[size]['hf_tokenize_ms']:.1f})"
                   for size in sizes])
    if "pieces_per_step" in first:
        body.append(["encoder input per step, pieces: spaCy padded / HF padded / real"]
                    + ["{spacy_padded} / {hf_padded} / {real}".format(
                        **profile[size]["pieces_per_step"]) for size in sizes])
    groups = f", {first['length_groups']} length groups per batch" if "length_groups" in first \
        else ""
    if "hf_length_groups" in first:
        groups = (f", the joint batch in {first['length_groups']} length groups, each HF "
                  f"model's in {first['hf_length_groups']}")
    return [f"#### Where a joint training step's time goes (ms per step; {first['steps']} timed "
            f"steps, {first['batch']}{groups})\n",
            table(["phase"] + sizes, "l" + "r" * len(sizes), body)]


def score_cell(cell: Section, not_learned: bool, grid: bool) -> str:
    """"mean ± sd", or the not-learned wording."""
    if not_learned:
        return DID_NOT_LEARN if grid else "did not learn"
    return f"{cell['mean']:.2f} ± {cell['sd']:.2f}"


def accuracy_tables(accuracy: Section) -> list[str]:
    budget = accuracy["budget"]
    body = []
    for name, row in accuracy["systems"].items():
        grid = "dev_by_learn_rate" in row
        rate = "its config's" if row["learn_rate"] is None else f"{row['learn_rate']:g}"
        for precision, cells in row["test"].items():
            first = precision == "fp32"
            body.append([name if first else "", precision, rate if first else "",
                         *(score_cell(cells[task], task in row["did_not_learn"], grid)
                           for task in TASKS), str(cells[TASKS[0]]["n"])])
    out = ["#### Accuracy, both sides tuned alike (fairness rule 6)\n",
           "Budget: " + ", ".join(f"{k} = {v}" for k, v in budget.items()) + "\n",
           table(["system", "precision", "learning rate", "CoNLL-2003 test F1",
                  "SST-2 test accuracy", "seeds"], "lllrrr", body)]
    tuning = [[name, rate, fmt(scores["conll_f1"]), fmt(scores["sst2_accuracy"])]
              for name, row in accuracy["systems"].items()
              for rate, scores in row.get("dev_by_learn_rate", {}).items()]
    if tuning:
        out += ["Learning-rate selection on dev (first seed):\n",
                table(["system", "learning rate", "dev CoNLL F1", "dev SST-2 accuracy"], "llrr",
                      tuning)]
    for name, row in accuracy["systems"].items():
        for seed, curves in row.get("loss_curves", {}).items():
            out.append(f"{name}, {seed}, loss curve (first → last of "
                       f"{len(next(iter(curves.values())))} averaged stretches): "
                       + "; ".join(f"{model} {c[0]} → {c[-1]}" for model, c in curves.items())
                       + ".\n")
    if "accuracy_loss" in accuracy:
        out.append("Accuracy loss against the same side's fp32 (points, worse task): "
                   + "; ".join(f"{side} {p} {loss}" for side, losses in
                               accuracy["accuracy_loss"].items() for p, loss in losses.items())
                   + ".\n")
    if "mlm" in accuracy:
        mlm = accuracy["mlm"]
        out.append(f"MLM pretraining: `{mlm['command']}`: loss {mlm['loss_first10']} → "
                   f"{mlm['loss_last10']} (mean of first/last 10 steps), "
                   f"{mlm['seconds']:.0f} s, {mlm['words_per_s']:.0f} words/s.\n")
    return out


def kernels_table(kernels: Section) -> list[str]:
    body = [["fp32", f"{kernels['words_per_s_best']['fp32']:.0f}", "1.00×", "1.00×"]]
    body += [[name, f"{kernels['words_per_s_best'][name]:.0f}", f"{row['median']:.2f}×",
              f"{row['best']:.2f}×"] for name, row in kernels["over_fp32"].items()]
    return [f"#### Int8 kernels: encoder forward ({kernels['model']}, {kernels['texts']} short "
            f"texts, {kernels['words']} words, one batch, {kernels['rounds']} rounds, "
            f"{kernels['clock']} time)\n",
            f"Default kernel on this CPU: {kernels['default']} (available: "
            f"{', '.join(kernels['available'])}).\n",
            table(["encoder", "words/s (best round)", "× fp32 (median round)",
                   "× fp32 (best round)"], "lrrr", body)]


def int8_accuracy_table(section: Section) -> list[str]:
    rows = [[precision, fmt(section[precision]["conll_f1"]),
             fmt(section[precision]["sst2_accuracy"])] for precision in ("fp32", "int8")]
    rows.append(["loss (fp32 − int8, points)", fmt(section["loss"]["conll_f1"]),
                 fmt(section["loss"]["sst2_accuracy"])])
    return [f"#### int8 against fp32 on a trained pipeline ({section['split']}: "
            f"{section['conll_docs']} CoNLL-2003 docs, {section['sst2_texts']} SST-2 texts)\n",
            f"Pipeline `{section['pipeline']}`; int8 kernel on this CPU: {section['kernel']}.\n",
            table(["precision", "CoNLL entity F1 (seqeval)", "SST-2 accuracy"], "lrr", rows)]


# Results file key -> its tables, in the order they appear after the inference tables.
SECTION_TABLES: list[tuple[str, Callable[[Any], list[str]]]] = [
    ("kernels", kernels_table), ("headlines", headline_table), ("targets", targets_table),
    ("agreement", agreement_table), ("rss", rss_table), ("disk", disk_table),
    ("training", training_table), ("training_profile", training_profile_table),
    ("accuracy", accuracy_tables), ("int8_accuracy", int8_accuracy_table),
]


def is_legacy(meta: Section) -> bool:
    """Whether a results file predates the fair baseline (its meta has no CPU flags)."""
    return "cpu_info" not in meta


def render(results: dict[str, Section]) -> str:
    """The fairness rules, then markdown tables for every results file (full runs first).

    results (dict[str, Section]): Results file stem -> its content.
    RETURNS (str): The markdown that goes between the markers.
    """
    out: list[str] = [FAIRNESS_RULES]
    for mode in sorted(results, key=lambda m: (not m.startswith("full"), m)):
        res = results[mode]
        out.extend(heading(res["meta"], mode))
        if is_legacy(res["meta"]):
            out.append(LEGACY_NOTE)
            continue
        for key, section in res.get("inference", {}).items():
            out.extend(inference_tables(key, section))
        for key, render_section in SECTION_TABLES:
            if res.get(key):
                out.extend(render_section(res[key]))
    return "\n".join(out)


def read_results(out_dir: Path) -> dict[str, Section]:
    """Every results file in out_dir (stem -> content); files without "meta" are skipped."""
    results = {}
    for path in sorted(out_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            continue  # a run that is writing its file right now
        if "meta" in data:
            results[path.stem] = data
    return results


def replace_block(text: Optional[str], tables: str) -> str:
    """The markdown with the generated block replaced (appended if it has no markers)."""
    block = f"{MARK_START}\n{tables}\n{MARK_END}"
    if text is None:
        return "# Benchmarks\n\n" + block + "\n"
    return replace_marked_block(text, block, MARK_START, MARK_END)


def write_markdown(out_dir: Path, markdown: Path = BENCHMARKS_MD) -> None:
    """Rebuild the generated block of `markdown` from the results files in out_dir."""
    text = markdown.read_text(encoding="utf-8") if markdown.is_file() else None
    markdown.write_text(replace_block(text, render(read_results(out_dir))), encoding="utf-8")
