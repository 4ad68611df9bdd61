"""The evaluation for humans: `report.md` and the console tables. Both renderers draw
the same tables (`entity_table`, `category_label_table`, `confusion_table`) with one
number format (`pct`), and both flag a classifier at chance level."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Union

from wasabi import MarkdownRenderer, Printer, msg

from .results import (
    ChanceFinding,
    EntityScores,
    EvaluationResult,
    ExclusiveConfusion,
    TextcatScores,
)

PathLike = Union[str, Path]


def pct(value: float | None) -> str:
    """A 0–1 score as a percentage with two decimals; "-" for a missing score.

    value (Optional[float]): The score.
    RETURNS (str): The formatted score.
    """
    return "-" if value is None else f"{100 * value:.2f}"


@dataclass
class Table:
    """A table both renderers draw: the first column left-aligned, the rest right."""

    title: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]

    @property
    def aligns(self) -> tuple[str, ...]:
        return ("l",) + ("r",) * (len(self.header) - 1)


def entity_table(ents: EntityScores) -> Table:
    """P/R/F and support per entity type, then overall."""
    rows = [
        (label, pct(v.p), pct(v.r), pct(v.f), str(v.support))
        for label, v in ents.ents_per_type.items()
    ]
    rows.append(("overall", pct(ents.ents_p), pct(ents.ents_r), pct(ents.ents_f), str(ents.n_gold)))
    return Table("NER (per type)", ("Label", "P", "R", "F", "Support"), rows)


def category_label_table(name: str, cats: TextcatScores) -> Table:
    """P/R/F, AUC and support per label of one classifier."""
    rows = [
        (label, pct(v.p), pct(v.r), pct(v.f), pct(v.auc), str(v.support))
        for label, v in cats.per_label.items()
    ]
    return Table(
        f"{name} ({cats.type}, per label)", ("Label", "P", "R", "F", "AUC", "Support"), rows
    )


def confusion_table(name: str, cats: TextcatScores) -> Table:
    """Gold × predicted counts (exclusive), or TP/FP/FN/TN per label (multi-label)."""
    confusion = cats.confusion_matrix
    if isinstance(confusion, ExclusiveConfusion):
        rows = [(label, *map(str, row)) for label, row in zip(confusion.labels, confusion.matrix)]
        title = f"{name} confusion matrix (rows: gold, columns: predicted)"
        return Table(title, ("gold \\ predicted", *confusion.labels), rows)
    rows = [
        (label, str(tp), str(fp), str(fn), str(tn))
        for label, ((tn, fp), (fn, tp)) in confusion.per_label.items()
    ]
    title = f"{name} decisions at threshold {cats.threshold:g}"
    return Table(title, ("Label", "TP", "FP", "FN", "TN"), rows)


def category_metrics_table(name: str, cats: TextcatScores) -> Table:
    """Accuracy, macro and micro P/R/F and AUC of one classifier."""
    rows = [
        ("accuracy", pct(cats.accuracy)),
        ("macro P / R / F", f"{pct(cats.macro_p)} / {pct(cats.macro_r)} / {pct(cats.macro_f)}"),
        ("micro P / R / F", f"{pct(cats.micro_p)} / {pct(cats.micro_r)} / {pct(cats.micro_f)}"),
        ("macro AUC", pct(cats.macro_auc)),
    ]
    if cats.multi_label:
        rows.insert(1, ("hamming accuracy", pct(cats.hamming_accuracy)))
        rows.append(("threshold", f"{cats.threshold:g}"))
    return Table(f"{name} summary", ("Metric", "Value"), rows)


def describe_chance(finding: ChanceFinding) -> str:
    """One finding of `chance.chance_level` in words."""
    if finding.check == "one_class":
        return f"predicts one class for every doc ({finding.answer})"
    if finding.check == "same_labels":
        return f"predicts the same labels for every doc ({finding.answer})"
    if finding.check == "macro_f":
        return (
            f"macro F {pct(finding.value)} is at chance (random guessing at the gold "
            f"label rates: {pct(finding.chance)})"
        )
    return f"mean ROC AUC {pct(finding.value)} is at chance (<= {pct(finding.chance)})"


def chance_warning(name: str, findings: list[ChanceFinding]) -> str:
    """The one-line warning for a classifier at chance level, naming every finding."""
    return f"{name} is at chance level: {'; '.join(map(describe_chance, findings))}"


# --------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------


def _markdown_table(md: MarkdownRenderer, table: Table) -> str:
    # MarkdownRenderer.table joins cells as they are: a "|" in a label would end its cell.
    rows = [[cell.replace("|", "\\|") for cell in row] for row in table.rows]
    header = [cell.replace("|", "\\|") for cell in table.header]
    return f"{table.title}:\n\n{md.table(rows, header, aligns=table.aligns)}"


def _entities_markdown(md: MarkdownRenderer, result: EvaluationResult, ents: EntityScores) -> None:
    md.add(md.title(2, "Entities"))
    md.add(
        f"Scored on {ents.n_docs} docs with NER annotation ({ents.n_docs_excluded} without it "
        f"excluded); {ents.n_gold} gold and {ents.n_pred} predicted entities."
    )
    md.add(_markdown_table(md, entity_table(ents)))
    seq = result.ents_seqeval
    if seq is not None:
        note = (
            f" On the {seq.n_docs_retokenized} docs the pipeline tokenized differently from "
            "the reference, predicted entities are projected onto the reference tokens; where "
            "two land on the same tokens seqeval keeps the first and spaCy's scorer counts "
            "both, so the two can differ there (only there)."
            if seq.n_docs_retokenized
            else ""
        )
        md.add(
            f"seqeval cross-check (IOB2, {seq.mode}): P {pct(seq.p)}, R {pct(seq.r)}, "
            f"F {pct(seq.f)}.{note}"
        )
    html = result.files.entities_html
    if html:
        md.add(f"Predicted vs. gold entities: {md.link(html, html)}")


def _categories_markdown(
    md: MarkdownRenderer, result: EvaluationResult, name: str, cats: TextcatScores
) -> None:
    factory = f", factory {md.code(cats.factory)}" if cats.factory else ""
    md.add(md.title(2, f"Categories: {md.code(name)} ({cats.type}{factory})"))
    if cats.chance_level:
        md.add(f"> **Warning:** {chance_warning(md.code(name), cats.chance_level)}.")
    md.add(
        f"Scored on {cats.n_docs} docs with gold cats for its labels "
        f"({cats.n_docs_excluded} without them excluded)."
    )
    md.add(_markdown_table(md, category_metrics_table(name, cats)))
    md.add(_markdown_table(md, category_label_table(name, cats)))
    md.add(_markdown_table(md, confusion_table(name, cats)))
    image = result.files.confusion.get(name)
    if image:
        md.add(f"![{name} confusion matrix]({image})")


def render_markdown(result: EvaluationResult) -> str:
    """The markdown report: pipeline, data and speed, then per-label tables,
    confusion matrices, chance-level warnings and links to the figures.

    result (EvaluationResult): What `evaluate_pipeline` measured.
    RETURNS (str): The markdown text.
    """
    md = MarkdownRenderer()
    meta, speed = result.pipeline, result.speed
    md.add(md.title(1, "Evaluation report"))
    facts = [
        f"Pipeline: {md.code(f'{meta.lang}_{meta.name}')} {meta.version or ''} "
        f"(components: {', '.join(meta.components) or 'none'})",
        f"Data: {md.code(result.data)}, {result.n_examples} docs"
        if result.data
        else f"Data: {result.n_examples} docs",
    ]
    if speed.words_per_second is not None:
        facts.append(
            f"Speed: {speed.words_per_second:,.0f} words/s "
            f"({speed.n_words} words in {speed.seconds:.2f} s)"
        )
    md.add(md.list(facts))
    if result.ents is not None:
        _entities_markdown(md, result, result.ents)
    for name, cats in result.cats.items():
        _categories_markdown(md, result, name, cats)
    if result.files.training_curve:
        md.add(md.title(2, "Training curve"))
        md.add(f"![training curve]({result.files.training_curve})")
    return md.text + "\n"


def write_report(result: EvaluationResult, path: PathLike) -> Path:
    """Write `render_markdown(result)` to `path`.

    result (EvaluationResult): What `evaluate_pipeline` measured.
    path (PathLike): Where to write `report.md`.
    RETURNS (Path): The path written.
    """
    path = Path(path)
    path.write_text(render_markdown(result), encoding="utf-8")
    return path


# --------------------------------------------------------------------------
# Console
# --------------------------------------------------------------------------


def _summary_rows(result: EvaluationResult) -> list[tuple[str, str]]:
    rows = [("Docs", str(result.n_examples))]
    if result.speed.words_per_second is not None:
        rows.append(("Speed (words/s)", f"{result.speed.words_per_second:.0f}"))
    ents = result.ents
    if ents is not None:
        rows += [
            ("NER docs (excluded)", f"{ents.n_docs} ({ents.n_docs_excluded})"),
            ("NER P", pct(ents.ents_p)),
            ("NER R", pct(ents.ents_r)),
            ("NER F", pct(ents.ents_f)),
        ]
        if result.ents_seqeval is not None:
            rows.append(("NER F (seqeval)", pct(result.ents_seqeval.f)))
    for name, cats in result.cats.items():
        rows += [
            (f"{name} docs (excluded)", f"{cats.n_docs} ({cats.n_docs_excluded})"),
            (f"{name} accuracy", pct(cats.accuracy)),
            (f"{name} macro F", pct(cats.macro_f)),
            (f"{name} micro F", pct(cats.micro_f)),
            (f"{name} macro AUC", pct(cats.macro_auc)),
        ]
    return rows


def print_report(result: EvaluationResult, printer: Printer = msg) -> None:
    """Print the evaluation in the style of `spacy evaluate`: a summary, P/R/F per
    entity type and per label, each classifier's confusion table, and in red
    (`Printer.fail`) every classifier at chance level.

    result (EvaluationResult): What `evaluate_pipeline` measured.
    printer (Printer): The wasabi printer to write with.
    """
    printer.table(_summary_rows(result), title="Results")
    if result.ents is not None and result.ents.ents_per_type:
        _print_table(printer, entity_table(result.ents))
    for name, cats in result.cats.items():
        if not cats.n_docs:
            printer.warn(f"{name}: no docs with gold cats for its labels, nothing scored")
            continue
        _print_table(printer, category_label_table(name, cats))
        _print_table(printer, confusion_table(name, cats))
    for name, findings in result.heads_at_chance.items():
        printer.fail(f"{name} is at chance level", "; ".join(map(describe_chance, findings)))


def _print_table(printer: Printer, table: Table) -> None:
    printer.table(table.rows, header=table.header, aligns=table.aligns, title=table.title)
