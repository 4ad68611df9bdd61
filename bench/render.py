"""BENCHMARKS.md's generated part: markdown tables from every results file.

The tables go between the `<!-- bench:start -->` and `<!-- bench:end -->` markers; the rest
of BENCHMARKS.md is written by hand and kept as it is.
"""

import json
from pathlib import Path
from typing import Any, Callable, Optional

from wasabi import MarkdownRenderer

from .settings import BENCHMARKS_MD

MARK_START, MARK_END = "<!-- bench:start -->", "<!-- bench:end -->"
Section = dict[str, Any]

# (label, ratio key, bar): the speed targets, checked on base/short best-round ratios.
TARGETS = [
    ("fp32 joint ≥ 2.0× HF two-model pipeline", "spacy_joint_fp32/hf_pipeline_two", 2.0),
    ("fp32 joint ≥ 1.8× HF raw two-model forward", "spacy_joint_fp32/hf_raw_two", 1.8),
    ("ner alone ≥ 1.2× HF token-classification pipeline", "spacy_ner_fp32/hf_pipeline_tok", 1.2),
    ("ner alone ≥ 0.9× HF raw token-classification forward", "spacy_ner_fp32/hf_raw_tok", 0.9),
    ("bf16 joint ≥ 3.5× HF raw two-model fp32 forward", "spacy_joint_bf16/hf_raw_two", 3.5),
    ("int8 joint ≥ 3.5× HF raw two-model fp32 forward", "spacy_joint_int8/hf_raw_two", 3.5),
    ("int8+bf16 joint ≥ 3.5× HF raw two-model fp32 forward", "spacy_joint_int8_bf16/hf_raw_two",
     3.5),
]


def targets(inference: dict[str, Section]) -> list[dict[str, Any]]:
    """The TARGETS rows (measured best-round ratio, median ratio, verdict) for base/short."""
    section = inference.get("base/short")
    if not section:
        return []
    rows = []
    for label, key, bar in TARGETS:
        value = section.get("ratios_best", {}).get(key)
        if value is None:
            continue
        verdict = "met" if value >= bar else f"missed by {bar - value:.2f}×"
        rows.append({"target": label, "measured": value, "median": section["ratios"].get(key),
                     "bar": bar, "verdict": verdict})
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
    """The run's title and its settings line."""
    partial = ("" if meta.get("complete", True) else
               " (**partial**: the run was still going or was stopped)")
    return [f"### `{meta['command']}` (results/{mode}.json)\n",
            f"{meta['date']}, {meta['cpu']}, torch {meta['torch']}, {meta['threads']} threads, "
            f"load average {meta['loadavg_start']} at start / {meta['loadavg_end']} at end, "
            f"{meta['seconds']:.0f} s in all{partial}.\n"]


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


def training_table(training: Section) -> list[str]:
    body = [[f"{training['spacy_words_per_s']:.0f}", f"{training['hf_words_per_s']:.0f}",
             f"{training['ratio_spacy_over_hf']:.2f}"]]
    return [f"#### Training throughput ({training['model']}, {training['steps']} steps, "
            f"{training['batch']})\n",
            table(["spaCy update (as `spacy train`) words/s", "HF loop words/s", "ratio"], "rrr",
                  body)]


def accuracy_tables(accuracy: Section) -> list[str]:
    body = [[name, f"{row['conll_f1']:.2f}", f"{row['sst2_accuracy']:.2f}",
             f"{row['train_eval_seconds']:.0f}"] for name, row in accuracy["systems"].items()]
    out = ["#### Accuracy at the same update budget\n",
           "Budget: " + ", ".join(f"{k} = {v}" for k, v in accuracy["budget"].items()) + "\n",
           table(["system", "CoNLL-2003 test F1", "SST-2 test accuracy", "seconds"], "lrrr",
                 body)]
    if "mlm" in accuracy:
        mlm = accuracy["mlm"]
        out.append(f"MLM pretraining: `{mlm['command']}`: loss {mlm['loss_first10']} → "
                   f"{mlm['loss_last10']} (mean of first/last 10 steps), "
                   f"{mlm['seconds']:.0f} s, {mlm['words_per_s']:.0f} words/s.\n")
    return out


# Results file key -> its tables, in the order they appear after the inference tables.
SECTION_TABLES: list[tuple[str, Callable[[Any], list[str]]]] = [
    ("targets", targets_table), ("agreement", agreement_table), ("rss", rss_table),
    ("disk", disk_table), ("training", training_table), ("accuracy", accuracy_tables),
]


def render(results: dict[str, Section]) -> str:
    """Markdown tables for every results file (full first).

    results (dict[str, Section]): Results file stem -> its content.
    RETURNS (str): The markdown that goes between the markers.
    """
    out: list[str] = []
    for mode in sorted(results, key=lambda m: (m != "full", m)):
        res = results[mode]
        out.extend(heading(res["meta"], mode))
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
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        _, tail = rest.split(MARK_END, 1)
        return head + block + tail
    return text.rstrip() + "\n\n" + block + "\n"


def write_markdown(out_dir: Path, markdown: Path = BENCHMARKS_MD) -> None:
    """Rebuild the generated block of `markdown` from the results files in out_dir."""
    text = markdown.read_text(encoding="utf-8") if markdown.is_file() else None
    markdown.write_text(replace_block(text, render(read_results(out_dir))), encoding="utf-8")
