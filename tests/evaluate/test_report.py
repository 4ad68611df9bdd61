"""`spacy_albert.evaluate.report`: report.md and the console tables are drawn from the
same tables with one number format, and both flag a classifier at chance level."""

from __future__ import annotations

import pytest
from spacy.training import Example
from spacy.vocab import Vocab
from wasabi import Printer

from spacy_albert.evaluate import (
    EntityScores,
    EntityTypeScores,
    EvaluationResult,
    PipelineInfo,
    PredictionSpeed,
    TextcatScores,
    print_report,
    render_markdown,
    score_entities,
    score_seqeval,
    score_textcat,
    write_report,
)
from spacy_albert.evaluate.report import entity_table, pct
from tests.evaluate.conftest import (
    EXCLUSIVE,
    exclusive_examples,
    make_doc,
    multilabel_examples,
    ner_examples,
)

RED = "\x1b[38;5;1m"


def make_result(
    cats: dict[str, TextcatScores], ents: EntityScores | None = None
) -> EvaluationResult:
    return EvaluationResult(
        pipeline=PipelineInfo(lang="en", name="tiny", version="0.0.1", components=["ner", *cats]),
        data="dev.spacy",
        n_examples=12,
        speed=PredictionSpeed(words_per_second=1234.5, n_words=100, n_docs=12, seconds=0.081),
        ents=ents,
        cats=cats,
    )


@pytest.fixture
def good_result(vocab: Vocab) -> EvaluationResult:
    examples = ner_examples(vocab)
    result = make_result(
        {
            "sentiment": score_textcat(exclusive_examples(vocab), EXCLUSIVE, multi_label=False),
            "topics": score_textcat(multilabel_examples(vocab), ("A", "B"), multi_label=True),
        },
        ents=score_entities(examples, components=["ner"]),
    )
    result.ents_seqeval = score_seqeval(examples)
    result.files.confusion["sentiment"] = "confusion_sentiment.png"
    result.files.training_curve = "training_curve.png"
    return result


@pytest.fixture
def collapsed_result(vocab: Vocab) -> EvaluationResult:
    """An exclusive head that gives every doc the class NEG."""
    rows = ["POS", "NEG", "NEU", "POS", "NEU"]
    examples = [
        Example(
            make_doc(vocab, ["x"], cats={"POS": 0.3, "NEG": 0.4, "NEU": 0.3}),
            make_doc(vocab, ["x"], cats={label: float(label == gold) for label in EXCLUSIVE}),
        )
        for gold in rows
    ]
    return make_result({"sentiment": score_textcat(examples, EXCLUSIVE, multi_label=False)})


def test_pct() -> None:
    assert pct(None) == "-"
    assert pct(0.0) == "0.00"
    assert pct(8 / 21) == "38.10"
    assert pct(1.0) == "100.00"


def test_markdown_report(good_result: EvaluationResult) -> None:
    text = render_markdown(good_result)
    assert text.startswith("# Evaluation report\n")
    assert "- Pipeline: `en_tiny` 0.0.1 (components: ner, sentiment, topics)" in text
    assert "- Data: `dev.spacy`, 12 docs" in text
    assert "- Speed: 1,234 words/s (100 words in 0.08 s)" in text
    assert "## Entities" in text
    assert "Scored on 8 docs with NER annotation (1 without it excluded)" in text
    # tables through wasabi's MarkdownRenderer: label left, numbers right
    assert "| Label | P | R | F | Support |\n| --- | ---: | ---: | ---: | ---: |" in text
    assert "| PER | 25.00 | 25.00 | 25.00 | 4 |" in text
    assert "| overall | 40.00 | 36.36 | 38.10 | 11 |" in text
    assert "seqeval cross-check (IOB2, default (conlleval)): P 40.00, R 36.36, F 38.10." in text
    assert "On the 1 docs the pipeline tokenized differently" in text
    assert "## Categories: `sentiment` (exclusive)\n" in text
    assert "Scored on 7 docs with gold cats for its labels (3 without them excluded)." in text
    assert "| accuracy | 57.14 |" in text
    assert "| gold \\ predicted | POS | NEG | NEU |" in text
    assert "| POS | 2 | 1 | 0 |" in text
    assert "![sentiment confusion matrix](confusion_sentiment.png)" in text
    assert "## Categories: `topics` (multilabel" in text
    assert "| hamming accuracy | 66.67 |" in text and "| threshold | 0.5 |" in text
    assert "| Label | TP | FP | FN | TN |" in text and "| A | 2 | 1 | 1 | 1 |" in text
    assert "![training curve](training_curve.png)" in text
    assert "chance" not in text and "Warning" not in text


def test_markdown_cells_are_escaped() -> None:
    ents = EntityScores(
        components=["ner"], n_docs=1, n_docs_excluded=0, n_gold=1, n_pred=1,
        ents_p=1.0, ents_r=1.0, ents_f=1.0,
        ents_per_type={"A|B": EntityTypeScores(p=1.0, r=1.0, f=1.0, support=1)},
    )
    assert entity_table(ents).rows[0][0] == "A|B"  # the console shows the label as it is
    assert "| A\\|B | 100.00 | 100.00 | 100.00 | 1 |" in render_markdown(make_result({}, ents))


def test_console_and_markdown_show_the_same_numbers(
    good_result: EvaluationResult, capsys: pytest.CaptureFixture[str]
) -> None:
    print_report(good_result, Printer(pretty=False))
    console = capsys.readouterr().out
    markdown = render_markdown(good_result)
    assert console.startswith("Results")
    for title in ("NER (per type)", "sentiment (exclusive, per label)",
                  "sentiment confusion matrix", "topics decisions at threshold 0.5"):
        assert title in console and title in markdown
    for number in ("38.10", "36.36", "57.14", "66.67", "91.67"):
        assert number in console and number in markdown
    assert "chance" not in console


def test_chance_level_is_flagged_in_red_in_the_console_and_in_the_report(
    collapsed_result: EvaluationResult, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    findings = collapsed_result.heads_at_chance["sentiment"]
    assert [f.check for f in findings] == ["one_class", "macro_f", "auc"]
    printer = Printer()
    printer.show_color = True
    print_report(collapsed_result, printer)
    console = capsys.readouterr().out
    red = [line for line in console.splitlines() if line.startswith(RED)]
    assert red == [f"{RED}\u2718 sentiment is at chance level\x1b[0m"]
    for reason in ("predicts one class for every doc (NEG)",
                   "macro F 11.11 is at chance (random guessing at the gold label rates: 33.33)",
                   "mean ROC AUC 50.00 is at chance (<= 55.00)"):
        assert reason in " ".join(console.split())  # wasabi wraps the text at 80 columns
    text = write_report(collapsed_result, tmp_path / "report.md").read_text("utf8")
    assert (
        "> **Warning:** `sentiment` is at chance level: predicts one class for every doc (NEG); "
        in text
    )
    as_json = collapsed_result.to_dict()["cats"]["sentiment"]["chance_level"]
    assert as_json[0] == {"check": "one_class", "value": None, "chance": None, "answer": "NEG"}
