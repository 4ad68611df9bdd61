"""`evaluate_pipeline`: run a pipeline with `ner` and/or text classifiers (`textcat`,
`textcat_multilabel`, `albert_textcat`) over gold data and write what a human reads:
scores.json, confusion matrices, a training curve, a displaCy page, calibration
figures and report.md. Scoring is in `scoring.py`, which docs count in `gold.py`,
confidence calibration in `confidence.py`, figures in `plots.py`, the page in
`displacy_page.py`, the report in `report.py`."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Union

from spacy.language import Language
from spacy.pipeline import EntityRecognizer, MultiLabel_TextCategorizer, TextCategorizer
from spacy.training import Corpus, Example

from .confidence import ConfidenceMeasurement, measure_confidence
from .displacy_page import render_entities_html
from .gold import has_ner_annotation
from .plots import plot_confusion, plot_precision_recall, plot_reliability, plot_training_curve
from .report import write_report
from .results import EvaluationResult, OutputFiles, PipelineInfo, PredictionSpeed
from .scoring import score_entities, score_seqeval, score_textcat

PathLike = Union[str, Path]

NER_FACTORIES = ("albert_ner", "ner", "beam_ner")
TEXTCAT_FACTORIES = ("textcat", "textcat_multilabel", "albert_textcat")
MULTILABEL_FACTORIES = ("textcat_multilabel",)


@dataclass(frozen=True)
class TextcatInfo:
    """What the scorer needs to know about one text classifier.

    name (str): The component name in the pipeline.
    factory (str): The factory it was created with.
    labels (tuple[str, ...]): The component's labels (`pipe.labels`).
    multi_label (bool): Whether labels are independent (multi-label) or mutually
        exclusive.
    threshold (float): Cutoff for a positive multi-label prediction; 0.0 (the
        argmax decides) for exclusive classifiers.
    positive_label (Optional[str]): The positive label of a binary exclusive
        classifier, if configured.
    """

    name: str
    factory: str
    labels: tuple[str, ...]
    multi_label: bool
    threshold: float
    positive_label: str | None = None


def find_textcat_components(nlp: Language) -> list[TextcatInfo]:
    """Find the text classifiers in a pipeline. A component counts if it is a
    `spacy.pipeline.TextCategorizer` (which includes `MultiLabel_TextCategorizer`
    and this project's `albert_textcat`) or was made by one of the factories
    `textcat`, `textcat_multilabel` or `albert_textcat`. It is multi-label if it
    is a `MultiLabel_TextCategorizer` (or made by `textcat_multilabel`).

    nlp (Language): The pipeline.
    RETURNS (list[TextcatInfo]): One entry per classifier, in pipeline order.
    """
    found = []
    for name, pipe in nlp.pipeline:
        factory = nlp.get_pipe_meta(name).factory
        if not (isinstance(pipe, TextCategorizer) or factory in TEXTCAT_FACTORIES):
            continue
        multi_label = isinstance(pipe, MultiLabel_TextCategorizer) or (
            factory in MULTILABEL_FACTORIES
        )
        cfg = getattr(pipe, "cfg", {}) or {}
        threshold = cfg.get("threshold")
        if multi_label:
            threshold = 0.5 if threshold is None else float(threshold)
        else:
            threshold = 0.0
        found.append(
            TextcatInfo(
                name,
                factory,
                tuple(pipe.labels),
                multi_label=multi_label,
                threshold=threshold,
                positive_label=cfg.get("positive_label"),
            )
        )
    return found


def find_ner_components(nlp: Language) -> list[str]:
    """Names of the entity recognizers in a pipeline (`EntityRecognizer` instances
    or components made by the `albert_ner` / `ner` / `beam_ner` factories).

    nlp (Language): The pipeline.
    RETURNS (list[str]): Component names, in pipeline order.
    """
    return [
        name
        for name, pipe in nlp.pipeline
        if isinstance(pipe, EntityRecognizer) or nlp.get_pipe_meta(name).factory in NER_FACTORIES
    ]


def load_examples(nlp: Language, path: PathLike) -> list[Example]:
    """Read gold examples from a `.spacy` file (or a directory of them), the way
    `spacy evaluate` does: the predicted side is `nlp.make_doc(text)`.

    nlp (Language): The pipeline whose tokenizer makes the predicted docs.
    path (PathLike): A `.spacy` file or a directory of `.spacy` files.
    RETURNS (list[Example]): The examples, unannotated on the predicted side.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Evaluation data not found: {path}")
    corpus = Corpus(path, gold_preproc=False, max_length=0)
    return list(corpus(nlp))


def predict(
    nlp: Language, examples: Iterable[Example], *, batch_size: int | None = None
) -> tuple[list[Example], PredictionSpeed]:
    """Run the pipeline over copies of the examples' predicted docs (the input
    examples are left untouched) and time the pass.

    nlp (Language): The pipeline.
    examples (Iterable[Example]): Gold examples.
    batch_size (Optional[int]): Batch size for `nlp.pipe`; defaults to
        `nlp.batch_size`.
    RETURNS (tuple[list[Example], PredictionSpeed]): Examples whose predicted side
        holds the pipeline's output, and the speed of the pass.
    """
    examples = list(examples)
    docs = [eg.predicted.copy() for eg in examples]
    start = time.perf_counter()
    predicted = list(nlp.pipe(docs, batch_size=batch_size or nlp.batch_size))
    seconds = time.perf_counter() - start
    scored = [Example(doc, eg.reference) for doc, eg in zip(predicted, examples)]
    n_words = sum(len(doc) for doc in predicted)
    speed = PredictionSpeed(
        words_per_second=n_words / seconds if seconds > 0 else None,
        n_words=n_words,
        n_docs=len(predicted),
        seconds=seconds,
    )
    return scored, speed


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)


def write_confidence_figures(
    measurement: ConfidenceMeasurement, output_dir: Path, files: OutputFiles
) -> None:
    """Draw a reliability diagram per head with predictions and the entity P-R curve.

    measurement (ConfidenceMeasurement): From `measure_confidence`.
    output_dir (Path): Where to write the PNGs.
    files (OutputFiles): Gets the names written.
    """
    scores = measurement.scores
    for outcome in measurement.outcomes:
        head = scores.heads[outcome.name]
        if not head.n_predictions:
            continue
        filename = f"reliability_{_safe_name(outcome.name)}.png"
        plot_reliability(outcome, head.calibrated, scores.n_bins, output_dir / filename)
        files.reliability[outcome.name] = filename
        curve, threshold = measurement.entity_curve, scores.entity_threshold
        if outcome.kind == "entities" and curve is not None and threshold is not None:
            filename = f"precision_recall_{_safe_name(outcome.name)}.png"
            plot_precision_recall(outcome.name, curve, threshold, output_dir / filename)
            files.precision_recall = filename


def evaluate_pipeline(
    nlp: Language | PathLike,
    examples_or_path: Iterable[Example] | PathLike,
    output_dir: PathLike,
    train_log: PathLike | None = None,
    displacy_limit: int = 25,
    *,
    batch_size: int | None = None,
    confidence_bins: int = 10,
) -> EvaluationResult:
    """Evaluate a pipeline and write a readable report to `output_dir`:

    * `scores.json`: `EvaluationResult.to_dict()`: entity and per-classifier
      scores (with chance-level findings), speed, doc counts, and the seqeval
      cross-check (`ents_seqeval`).
    * `confusion_<component>.png` per text classifier with scored docs.
    * `training_curve.png` if `train_log` is given.
    * `entities.html`: displaCy page of the first `displacy_limit` docs with
      predicted entities or NER gold (if any).
    * With `albert_entity_scorer` and/or `albert_calibrator` (added by `python -m
      spacy_albert calibrate`): `reliability_<head>.png` per head and, with entity
      scores, `precision_recall_<ner>.png`; their numbers are `scores.json`'s
      `confidence` (see `confidence.py`).
    * `report.md`: the tables for humans.

    Entities are scored only on docs whose reference has NER annotation, and each
    classifier only on docs with gold cats for its labels (see `gold.py`).

    nlp (Union[Language, PathLike]): The pipeline, or a path/name to load.
    examples_or_path (Union[Iterable[Example], PathLike]): Gold examples, or a
        `.spacy` file to read them from.
    output_dir (PathLike): Where to write; created if needed.
    train_log (Optional[PathLike]): A ConsoleLogger.v3 JSONL training log.
    displacy_limit (int): How many docs to render in `entities.html`.
    batch_size (Optional[int]): Batch size of the prediction pass.
    confidence_bins (int): Equal-width bins of ECE and the reliability diagrams.
    RETURNS (EvaluationResult): What was measured and which files were written.
    """
    if not isinstance(nlp, Language):
        import spacy

        nlp = spacy.load(nlp)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    data_path: str | None = None
    if isinstance(examples_or_path, (str, Path)):
        data_path = str(examples_or_path)
        examples = load_examples(nlp, examples_or_path)
    else:
        examples = list(examples_or_path)
    predicted, speed = predict(nlp, examples, batch_size=batch_size)
    ner_names = find_ner_components(nlp)
    result = EvaluationResult(
        pipeline=PipelineInfo(
            lang=nlp.lang,
            name=nlp.meta.get("name"),
            version=nlp.meta.get("version"),
            components=list(nlp.pipe_names),
        ),
        data=data_path,
        n_examples=len(examples),
        speed=speed,
        files=OutputFiles(),
    )
    if ner_names:
        result.ents = score_entities(predicted, components=ner_names)
        result.ents_seqeval = score_seqeval(predicted)
    for info in find_textcat_components(nlp):
        cats = score_textcat(
            predicted,
            info.labels,
            multi_label=info.multi_label,
            threshold=info.threshold,
            positive_label=info.positive_label,
        )
        result.cats[info.name] = replace(cats, factory=info.factory)
        if cats.n_docs:
            filename = f"confusion_{_safe_name(info.name)}.png"
            plot_confusion(info.name, cats, output_dir / filename)
            result.files.confusion[info.name] = filename
    if ner_names or any(has_ner_annotation(eg.reference) for eg in predicted):
        html_path = render_entities_html(predicted, output_dir / "entities.html", displacy_limit)
        result.files.entities_html = html_path.name if html_path else None
    measurement = measure_confidence(nlp, predicted, n_bins=confidence_bins)
    if measurement is not None:
        result.confidence = measurement.scores
        write_confidence_figures(measurement, output_dir, result.files)
    if train_log is not None:
        plot_training_curve(train_log, output_dir / "training_curve.png")
        result.files.training_curve = "training_curve.png"
    write_report(result, output_dir / result.files.report)
    scores_json = json.dumps(result.to_dict(), indent=2) + "\n"
    (output_dir / result.files.scores).write_text(scores_json, encoding="utf-8")
    return result
