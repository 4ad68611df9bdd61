"""BENCHMARKS.md's accuracy-and-confidence section, generated from the results files.

    python -m bench.render_quality     # after bench.pretrained_report and/or bench.calibration

Renders `bench/results/en_pretrained_*.json` (the `en-pretrained` workflow: the joint
pipeline on an imported pretrained checkpoint against spaCy's CNN),
`bench/results/pretrained_compare*.json` (`bench.pretrained_compare`: the same checkpoint
against the seed's HF loop; an `en-pretrained` run as long as a comparison is set against
its HF means), `bench/results/sparse_entities*.json` (`bench.sparse_entities`:
`ner` against the HF loop on sparse, unseen entities) and `bench/results/calibration_*.json`
between
`<!-- quality:start -->` and `<!-- quality:end -->`; everything else in BENCHMARKS.md is
left as it is.
"""

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Optional

from wasabi import MarkdownRenderer

from .render_deploy import RESULTS, render_main, run_line

START, END = "<!-- quality:start -->", "<!-- quality:end -->"
SYSTEM_NAMES = {
    "albert": "spacy-albert joint `transformer`+`ner`+`textcat` (`configs/textcat_ner.cfg`)",
    "cnn": "spaCy CNN `ner` (`spacy init config -p ner`, no vectors)",
}


def _pct(value: Optional[float]) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _ents(split: dict[str, Any]) -> str:
    ents = split.get("ents")
    if not ents:
        return "–"
    return f"{_pct(ents['p'])} / {_pct(ents['r'])} / **{_pct(ents['f'])}**"


def _accuracy(split: dict[str, Any]) -> str:
    heads = split.get("cats") or {}
    return ", ".join(_pct(head.get("accuracy")) for head in heads.values()) or "–"


def pretrained_section(results: dict[str, Any], path: Path) -> list[str]:
    md = MarkdownRenderer()
    rows = []
    for system, numbers in results["systems"].items():
        training = numbers["training"]
        rows.append([
            SYSTEM_NAMES.get(system, system),
            _ents(numbers["dev"]), _ents(numbers["test"]),
            _accuracy(numbers["dev"]), _accuracy(numbers["test"]),
            f"{training['steps']:,} ({training['best_step']:,})",
            f"{training['seconds'] / 60:.0f} min",
            "–" if training["words_per_s"] is None else f"{training['words_per_s']:,.0f}",
        ])
    lines = [
        f"### Pretrained checkpoint, CoNLL-2003 + SST-2, {results['context']} context "
        "(`spacy project run en-pretrained`)", "",
        run_line(results["run"], path), "",
        md.table(rows, ["system", "CoNLL dev P / R / **F**", "CoNLL test P / R / **F**",
                        "SST-2 dev acc", "SST-2 test acc", "updates (best)",
                        "training wall time", "training words/s"], "lllrrrrr"),
        "",
    ]
    for system, numbers in results["systems"].items():
        if "calibration" in numbers:
            lines += calibration_report_lines(numbers["calibration"], system)
    return lines


def calibration_report_lines(report: dict[str, Any], system: str) -> list[str]:
    """One `calibrate` report (calibration.json): ECE before/after and the threshold."""
    md = MarkdownRenderer()
    rows = [
        [head["name"], head["kind"], head["setting"], str(head["n_measured"]),
         f"{head['ece_before']:.4f}", f"{head['ece_after']:.4f}"]
        for head in report["heads"]
    ]
    lines = [
        f"Calibration of `{system}` (`python -m spacy_albert calibrate`), measured on "
        f"{report['measured_on']}:", "",
        md.table(rows, ["head", "kind", "fitted", "n measured", "ECE before", "ECE after"],
                 "lllrrr"),
        "",
    ]
    threshold = report.get("entity_threshold")
    if threshold and threshold.get("threshold") is not None:
        lines += [
            f"Entity `min_score` {threshold['threshold']:.3g}, chosen on dev for precision ≥ "
            f"{threshold['min_precision']:.2f} (dev P {_pct(threshold['fit_precision'])}): "
            f"test precision {_pct(threshold['precision'])}, recall "
            f"{_pct(threshold['recall'])}.", "",
        ]
    return lines


def _mean_sd(value: dict[str, float], decimals: int = 3) -> str:
    return f"{value['mean']:.{decimals}f} ± {value['sd']:.{decimals}f}"


def calibration_section(results: dict[str, Any], path: Path) -> list[str]:
    md = MarkdownRenderer()
    summary = results["summary"]
    n_splits = len(results["splits"])
    measured = results["splits"][0]["measured_on"] if n_splits == 1 else (
        f"{n_splits} seeded held-out halves of dev (fitted on the other half each time; "
        "ECE stays the same where the fitted map is the identity)"
    )
    rows = [
        [name, head["kind"], str(head["n_measured"]), _mean_sd(head["ece_before"]),
         _mean_sd(head["ece_after"]),
         f"{head['splits_lower']} / {head['splits_unchanged']} / "
         f"{head['splits'] - head['splits_lower'] - head['splits_unchanged']}"]
        for name, head in summary["heads"].items()
    ]
    lines = [
        f"### Calibration: {results['name']}", "", run_line(results["run"], path), "",
        f"Measured on {measured}.", "",
        md.table(rows, ["head", "kind", "n measured", "ECE before", "ECE after",
                        "splits where ECE fell / stayed / rose"], "llrrrr"),
        "",
    ]
    threshold = summary.get("entity_threshold")
    if threshold:
        lines += [
            f"Entity `min_score` chosen on the fitting docs for precision ≥ "
            f"{threshold['min_precision']:.2f}: measured precision "
            f"{_mean_sd(threshold['precision'])}, recall {_mean_sd(threshold['recall'])}; "
            f"within ±3 points of the ask in {threshold['within_3_points']} and at least "
            f"the ask − 3 points in {threshold['at_least_ask_minus_3_points']} of "
            f"{threshold['measured_splits']} measurements.",
            "",
        ]
    return lines


def mean_sd_cell(summary: dict[str, Any], key: str) -> str:
    """A summary's "mean ± sd" at one decimal, or "–" where the system has no such score."""
    value = summary.get(key)
    return "–" if value is None else _mean_sd(value, decimals=1)


def _gap(ours: dict[str, Any], theirs: dict[str, Any], key: str) -> Optional[float]:
    if key not in ours or key not in theirs:
        return None
    return ours[key]["mean"] - theirs[key]["mean"]


def gap_standard_error(ours: dict[str, Any], theirs: dict[str, Any], key: str
                       ) -> Optional[float]:
    """The standard error of the difference of two seed means (unpaired: each side draws
    its own seeds' noise), or None where either side lacks the sd of 2 or more seeds."""
    sides = [summary.get(key) or {} for summary in (ours, theirs)]
    if any(side.get("n", 0) < 2 or "sd" not in side for side in sides):
        return None
    return math.sqrt(sum(side["sd"] ** 2 / side["n"] for side in sides))


# Not the shared budget: where the files lay, what names a variant (`variant_name`), and
# how many processes trained the seeds, and how many seeds (an `--extend`ed file joins the
# file it extends).
GROUPING_IGNORES = ("model", "corpus", "lr_grid", "model_pretraining", "albert_overrides",
                    "hf_overrides", "jobs", "seeds")


def signed(points: float) -> str:
    """A difference to one decimal with its sign: +0.3, -1.2, and +0.0 (not -0.0) for one
    that rounds to nothing."""
    return f"{round(points, 1) + 0.0:+.1f}"


# Shipped-config changes since the comparisons began: (the date from which a run trained
# with it, the systems whose config changed, what the config sets since). A file's systems
# are named as if they had overridden the change, and set against a base that has it.
SHIPPED_CONFIG_CHANGES: tuple[tuple[str, tuple[str, ...], dict[str, Any]], ...] = (
    ("2026-12-02 08:26", ("albert-sst2",),  # configs/textcat.cfg, commit a1161e5
     {"training.optimizer.grad_clip": 0.0, "training.optimizer.use_averages": True}),
)


def shipped_changes(system: str, date: str) -> dict[str, Any]:
    """The settings `system`'s shipped config had changed to by `date` ("YYYY-MM-DD HH:MM",
    a results file's `meta.date`)."""
    return {path: value for since, systems, changes in SHIPPED_CONFIG_CHANGES
            if date >= since and system in systems for path, value in changes.items()}


def _bracketed(name: str, overrides: dict[str, Any]) -> str:
    if not overrides:
        return name
    return name + " [" + ", ".join(f"{path.removeprefix('components.')}={_value(value)}"
                                   for path, value in overrides.items()) + "]"


def variant_name(system: str, budget: dict[str, Any],
                 date: str = "") -> tuple[str, str, list[str]]:
    """A system's name in the merged table, the name of the system it is a variant of, and
    what sets it apart from that one (empty if nothing).

    The name: "<system> @ <checkpoint dir>" on a checkpoint after continued pretraining,
    then "[path=value, ...]" for the config overrides a spacy-albert system (or the loop
    settings an HF one) trained with, a shipped config's later changes (`shipped_changes`
    by the file's `date`) among them. The base has those changes the run did not override.
    """
    differences = []
    name = system
    if budget.get("model_pretraining"):
        name = f"{name} @ {Path(budget['model']).name}"
        differences.append("continued pretraining")
    explicit = budget.get("albert_overrides" if system.startswith("albert")
                          else "hf_overrides") or {}
    shipped = shipped_changes(system, date)
    if explicit:
        differences.append("the overrides")
    base = _bracketed(system, {path: value for path, value in shipped.items()
                               if path not in explicit})
    return _bracketed(name, {**shipped, **explicit}), base, differences


def _value(value: Any) -> str:
    """An override's value as a config writes it: 4.0 -> "4", True -> "true", and a block
    ({"@architectures": name, setting: value, ...}) -> "name(setting=value, ...)", its null
    settings left out."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:g}"
    if isinstance(value, dict):
        function = "".join(str(v) for key, v in value.items() if key.startswith("@"))
        settings = ", ".join(f"{key}={_value(v)}" for key, v in value.items()
                             if not key.startswith("@") and v is not None)
        return f"{function}({settings})"
    return str(value)


def extent(system: dict[str, Any]) -> tuple[int, int]:
    """How far a system's search and seeds went: (rates tried, runs)."""
    return len(system["lr_search"]), len(system["runs"])


def merged_comparisons(paths: list[Path]) -> list[tuple[list[tuple[dict[str, Any], Path]],
                                                        dict[str, Any]]]:
    """The comparison files grouped by budget, each group's systems merged: a comparison may
    run as one process per system (`--systems`), each writing its own file. A file run on a
    checkpoint after continued pretraining or with config overrides names its systems by
    them (`variant_name`). Where two files have the same system (one `--extend`s the other
    with more grid rates or seeds), the one that tried more rates stands, then the one with
    more runs.

    RETURNS: Per budget, the files' (meta, path) and {"budget" (with every file's grid
    rates), "systems", "pretraining" (per renamed system, the `pretrain` log), "variants"
    (per renamed system, {"base": its system's name, "without": what sets it apart})}.
    """
    groups: dict[str, tuple[list[tuple[dict[str, Any], Path]], dict[str, Any]]] = {}
    for path in paths:
        results = json.loads(path.read_text(encoding="utf-8"))
        budget = results["budget"]
        # The same budget and data (its counts), wherever the files lay on the machine.
        key = json.dumps({name: value for name, value in budget.items()
                          if name not in GROUPING_IGNORES}, sort_keys=True)
        runs, merged = groups.setdefault(key, ([], {"budget": dict(budget), "systems": {},
                                                      "pretraining": {},
                                                      "variants": {}}))
        runs.append((results["meta"], path))
        merged["budget"]["lr_grid"] = sorted({*merged["budget"]["lr_grid"], *budget["lr_grid"]})
        pretraining = budget.get("model_pretraining")
        for system_name, system in results["systems"].items():
            name, base, differences = variant_name(system_name, budget,
                                                   results["meta"]["date"])
            if differences:
                merged["variants"][name] = {"base": base, "without": differences}
            if pretraining:
                merged["pretraining"][name] = pretraining
            earlier = merged["systems"].get(name)
            if earlier is None or extent(system) > extent(earlier):
                merged["systems"][name] = system
    return list(groups.values())


def pretraining_line(name: str, log: dict[str, Any], n_rates: int) -> str:
    """What continued pretraining did to a system's checkpoint; n_rates: its grid's size."""
    corpus = ", ".join(f"`{Path(path).parent.name}/{Path(path).name}`" for path in log["corpus"])
    return (f"`{name}`: the same checkpoint after `pretrain` (continued masked-LM) on "
            f"{corpus} ({log['corpus_words']:,} words): {log['steps']:,} updates of "
            f"{log['batch_size']} blocks of up to {log['max_length']} pieces at lr "
            f"{log['learn_rate']:g}"
            + ("; it trains at the one rate in its grid column." if n_rates == 1 else "."))


SINGLE_TASK = "albert-sst2"  # bench.pretrained_compare's textcat-only system

# What a spacy-albert system is judged by, and the HF model it is set against there.
HF_COUNTERPARTS = (("test_conll_f1", "CoNLL test F1", "hf-ner"),
                   ("dev_sst2_accuracy", "SST-2 dev accuracy", "hf-sst2"))


def hf_gap_parts(ours: dict[str, Any], systems: dict[str, Any],
                 with_score: bool = False) -> list[str]:
    """`ours` ({metric: {"mean": ..., ["sd": ..., "n": ...]}}) against the mean of each HF
    model in `systems`, and of each of its variants (`variant_name`), where both have the
    metric: "<metric>[ <ours>,] <gap> points against `<HF model>`'s mean[ (standard error
    <se>)]", the standard error where both sides ran 2 or more seeds."""
    parts = []
    for key, label, hf_model in HF_COUNTERPARTS:
        for hf_system in [name for name in systems if name.split(" ")[0] == hf_model]:
            theirs = systems[hf_system]["summary"]
            gap = _gap(ours, theirs, key)
            if gap is None:
                continue
            score = f" {ours[key]['mean']:.1f}," if with_score else ""
            error = gap_standard_error(ours, theirs, key)
            noise = "" if error is None else f" (standard error {error:.1f})"
            parts.append(f"{label}{score} {signed(gap)} points against `{hf_system}`'s "
                         f"mean{noise}")
    return parts


def joint_run_line(joint: dict[str, Any], path: Path, systems: dict[str, Any]) -> str:
    """An `en-pretrained` run (one seed) set against the HF loop's means at its number of
    updates; the entity F1 is seqeval's, as the comparison scores the HF side."""
    albert = joint["systems"]["albert"]
    training = albert["training"]
    scores = {"test_conll_f1": {"mean": 100 * albert["test"]["ents"]["seqeval_f"]},
              "dev_sst2_accuracy": {"mean": 100 * albert["dev"]["cats"]["textcat"]["accuracy"]}}
    parts = hf_gap_parts(scores, systems, with_score=True)
    return (f"The `en-pretrained` run (`{path.name}`: the joint pipeline, {joint['context']} "
            f"context, one run of {training['steps']:,} updates of "
            f"{training['words'] / training['steps']:,.0f} words of both tasks on average) at "
            "this number of updates: " + "; ".join(parts) + ".")


def rates_sentence(budget: dict[str, Any], systems: dict[str, Any]) -> str:
    """How the comparison's systems got their learning rates, and how many seeds each ran."""
    grid = budget["lr_grid"]
    seed_counts = {len(system["runs"]) for system in systems.values()}
    seeds = (f"{next(iter(seed_counts))} seeds" if len(seed_counts) == 1
             else "as many seeds as its row's seeds column says")
    if len(grid) == 1:
        return (f"Every system trains at the one rate of its grid, {grid[0]:g} (no search at "
                f"this budget); {seeds}, mean ± sd.")
    scores = "CoNLL F1 and/or SST-2 accuracy, averaged"
    if all(len(system["lr_search"]) == len(grid) for system in systems.values()):
        return (f"Each system's learning rate is its best on dev from the grid {grid} at seed 0 "
                f"(dev score in the grid column: {scores}); then {seeds} at that rate, "
                "mean ± sd.")
    return ("Each system's learning rate is its best on dev at seed 0 among the rates of its "
            f"grid column ({scores}), from the grid {grid}; one with a single rate there had "
            f"no search at this budget. Then {seeds} at that rate, mean ± sd.")


def compare_section(runs: list[tuple[dict[str, Any], Path]], results: dict[str, Any],
                    joint_runs: Sequence[tuple[dict[str, Any], Path]] = ()) -> list[str]:
    """The same-checkpoint comparison with the seed's HF loop (bench.pretrained_compare).

    runs: The (meta, path) of each file the systems come from.
    results: {"budget": ..., "systems": ..., "pretraining": ..., "variants": ...} (see
        `merged_comparisons`).
    joint_runs: The `en-pretrained` results and paths; those trained for the budget's number
        of updates are set against the HF loop's means.
    """
    md = MarkdownRenderer()
    budget, systems = results["budget"], results["systems"]
    albert_systems = [name for name in systems if name.startswith("albert")]
    single_task = [name for name in albert_systems if name.startswith(SINGLE_TASK)]
    rows = []
    for name, system in systems.items():
        summary = system["summary"]
        search = ", ".join(f"{rate}: {score:.1f}" for rate, score in system["lr_selection"].items())
        seconds = [run["train_seconds"] for run in system["runs"]]
        rows.append([
            f"`{name}`: {system['description']}", search,
            "–" if system["learn_rate"] is None else f"{system['learn_rate']:g}",
            str(len(system["runs"])),
            *(mean_sd_cell(summary, key) for key in ("test_conll_f1", "dev_conll_f1",
                                                     "test_sst2_accuracy", "dev_sst2_accuracy")),
            f"{sum(seconds) / len(seconds) / 60:.1f} min" if seconds else "–",
        ])
    lines = [
        f"### Same checkpoint, data and updates: spacy-albert vs the seed's HF loop "
        f"({budget['steps']:,} updates)", "",
        *(line for meta, path in runs
          for line in (run_line(meta, path), "", *stopped_lines(meta, path))),
        rates_sentence(budget, systems)
        + f" {budget['schedule']}. An HF update is {budget['batch']} "
        "sentences of its one task"
        + (f"; a joint spacy-albert update is {budget['batch_words']:,} words of both tasks "
           f"(as many as {budget['batch']} CoNLL sentences plus as many SST-2 texts)"
           if len(single_task) < len(albert_systems) else "")
        + (f"; an `{SINGLE_TASK}` update is {budget['batch']} SST-2 texts, as the HF "
           "sentence classifier's" if single_task else "") + "."
        + (" Settings in brackets after a system's name replace these (and its config's) for "
           "its runs." if any(" [" in name for name in systems) else ""), "",
        md.table(rows, ["system", "dev score per lr", "lr", "seeds", "CoNLL test F1",
                        "CoNLL dev F1", "SST-2 test acc", "SST-2 dev acc", "train time / run"],
                 "llrrrrrrr"),
        "",
    ]
    lines += [line for name, log in results.get("pretraining", {}).items()
              for line in (pretraining_line(name, log, len(systems[name]["lr_search"])), "")]
    matching = [(joint, path) for joint, path in joint_runs
                if joint["systems"]["albert"]["training"]["steps"] == budget["steps"]]
    lines += [line for joint, path in matching
              for line in (joint_run_line(joint, path, systems), "")]
    if not matching and not albert_systems:
        lines += ["No spacy-albert system has run at this budget yet: the rows are the HF "
                  "loop's side only (run the same command with `--systems albert-sentence`).",
                  ""]
    for ours in albert_systems:
        mine = systems[ours]["summary"]
        parts = hf_gap_parts(mine, systems)
        if parts:
            lines += [f"`{ours}`: " + "; ".join(parts) + ".", ""]
        variant = results.get("variants", {}).get(ours)
        if variant and variant["base"] in systems:
            base = variant["base"]
            gaps = {label: _gap(mine, systems[base]["summary"], key)
                    for key, label in (("test_conll_f1", "CoNLL test F1"),
                                       ("test_sst2_accuracy", "SST-2 test accuracy"),
                                       ("dev_sst2_accuracy", "SST-2 dev accuracy"))}
            parts = [f"{label} {signed(gap)}" for label, gap in gaps.items() if gap is not None]
            lines += [f"`{ours}` against `{base}` without {' or '.join(variant['without'])}: "
                      + ", ".join(parts) + " points.", ""]
    return lines


def sparse_section(results: dict[str, Any], path: Path) -> list[str]:
    """spacy-albert's ner against the seed's HF loop on sparse, unseen entities
    (bench.sparse_entities)."""
    md = MarkdownRenderer()
    setup, systems = results["setup"], results["systems"]
    splits = setup["splits"]
    rows = []
    for name, system in systems.items():
        seconds = [run["train_seconds"] for run in system["runs"]]
        rows.append([f"`{name}`", str(len(system["runs"])),
                     *(mean_sd_cell(system["summary"], key) for key in ("test_f1", "dev_f1")),
                     f"{sum(seconds) / len(seconds) / 60:.1f} min"])
    lines = [
        "### Sparse, unseen entities in noisy text: `ner` vs the seed's HF loop", "",
        run_line(results["meta"], path), "",
        f"Built from CoNLL-2003 by `bench.sparse_entities`: {splits['train']['sentences']:,} "
        f"training sentences ({splits['train']['mentions_per_sentence']:.2f} mentions per "
        f"sentence); dev/test keep only entities whose text never occurs in training "
        f"({splits['test']['sentences']:,} test sentences, {splits['test']['mentions']:,} "
        f"mentions); {100 * setup['noise_share']:.0f} % of the sentences carry one @mention, "
        "hashtag, URL, emoji or zero-width space. Both sides: the same checkpoint, "
        f"{setup['epochs']} epochs of {setup['batch']} sentences ({setup['steps']:,} updates), "
        f"warmup_linear with {setup['warmup']} warm-up updates to lr {setup['learn_rate']:g}, "
        "the same seeds; seqeval entity F1, mean ± sd.", "",
        md.table(rows, ["system", "seeds", "test F1", "dev F1", "train time / run"], "lrrrr"),
        "",
        "`albert-ner/default` is `configs/ner.cfg` as shipped (each token read with its "
        "sentence neighbours, the heads at 20 times the encoder's rate); "
        "`albert-ner/spacy-parser-heads-x1` is spaCy's own parser model with the heads at "
        "the encoder's rate, as the configs were before.",
        "",
    ]
    lines += stopped_lines(results["meta"])
    hf = systems.get("hf-ner", {}).get("summary")
    for name, system in systems.items():
        gap = None if hf is None or name == "hf-ner" else _gap(system["summary"], hf, "test_f1")
        if gap is not None:
            lines += [f"`{name}`: test F1 {signed(gap)} points against `hf-ner`'s mean.", ""]
    return lines


def stopped_lines(meta: dict[str, Any], path: Optional[Path] = None) -> list[str]:
    """A paragraph saying a run was stopped before its last run (`meta["complete"]` false),
    naming its file where a section draws on several; none for a finished run."""
    if meta.get("complete", True):
        return []
    run = f"The run of `{path.name}`" if path is not None else "The run"
    return [f"{run} was stopped before it finished: its rows are the runs it completed.", ""]


def _per_file(results_dir: Path, pattern: str,
              section: Callable[[dict[str, Any], Path], list[str]]) -> list[str]:
    return [line for path in sorted(results_dir.glob(pattern))
            for line in section(json.loads(path.read_text(encoding="utf-8")), path)]


def render(results_dir: Path = RESULTS) -> str:
    lines = [START, "", "## Accuracy on real data and confidence (generated by "
             "`python -m bench.render_quality`)", ""]
    joint_runs = [(json.loads(path.read_text(encoding="utf-8")), path)
                  for path in sorted(results_dir.glob("en_pretrained_*.json"))]
    for joint, path in joint_runs:
        lines += pretrained_section(joint, path)
    # The HF comparison follows the joint run; its files are merged by budget.
    for runs, merged in merged_comparisons(sorted(results_dir.glob("pretrained_compare*.json"))):
        lines += compare_section(runs, merged, joint_runs)
    lines += _per_file(results_dir, "sparse_entities*.json", sparse_section)
    lines += _per_file(results_dir, "calibration_*.json", calibration_section)
    return "\n".join(lines + [END])


def main(argv: Optional[list[str]] = None) -> None:
    render_main(render, START, END, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    main()
