"""Acting on confidence in annotation output: keep entities above a score, and send the
least confident records to a person as JSONL that reads back as training data.

Records are `annotate`'s: `{"id", "text", "cats": {label: p}, "ents": [{"start", "end",
"label", "text", "score"}]}`. A review line is what `convert textcat` reads (JSONL with
`cats` and `entities`), plus the scores for the reviewer:

    {"id", "text", "confidence", "cats": {label: 1.0 | 0.0}, "entities": [[start, end, label]],
     "scores": {"cats": {label: p}, "entities": [{"start", "end", "label", "text", "score"}]}}

The person fixes `cats` and `entities` in place. Reading back keeps missing missing: a
line without `entities` (or with null) leaves NER unannotated, `entities: []` means "no
entities here"; a line without `cats` gets no cats keys.
"""

import heapq
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import srsly
from spacy.language import Language
from spacy.pipeline import EntityRecognizer
from spacy.tokens import Doc

from ..convert import read_textcat
from ..pipeline.confidence import Calibrator
from .outcomes import cats_heads
from .thresholds import DEFAULT_THRESHOLD

Record = dict[str, Any]


@dataclass(frozen=True)
class RecordLayout:
    """What a pipeline's records hold and how to read their cats.

    exclusive_groups (tuple[tuple[str, ...], ...]): Labels of each exclusive classifier
        (one of them is predicted: the highest).
    thresholds (Mapping[str, float]): Decision thresholds of other labels (default 0.5).
    has_cats (bool): The pipeline predicts cats (else review lines get no `cats`).
    has_entities (bool): The pipeline predicts entities (else no `entities`).
    """

    exclusive_groups: tuple[tuple[str, ...], ...] = ()
    thresholds: Mapping[str, float] = field(default_factory=dict)
    has_cats: bool = True
    has_entities: bool = True

    @classmethod
    def from_pipeline(cls, nlp: Language) -> "RecordLayout":
        """The layout of `nlp`'s records, with its calibrator's thresholds if fitted."""
        heads = cats_heads(nlp)
        calibrator = find_calibrator(nlp)
        return cls(
            exclusive_groups=tuple(head.labels for head in heads if head.exclusive),
            thresholds={} if calibrator is None else calibrator.thresholds,
            has_cats=bool(heads),
            has_entities=any(isinstance(pipe, EntityRecognizer) for _, pipe in nlp.pipeline),
        )


def find_calibrator(nlp: Language) -> Optional[Calibrator]:
    """The pipeline's `albert_calibrator`, or None."""
    return next((pipe for _, pipe in nlp.pipeline if isinstance(pipe, Calibrator)), None)


def entity_threshold(nlp: Language) -> Optional[float]:
    """The entity min score stored by `calibrate --min-precision`, or None."""
    calibrator = find_calibrator(nlp)
    return None if calibrator is None else calibrator.min_score


def filter_record_entities(record: Record, min_score: Optional[float]) -> Record:
    """The record with only the entities scoring >= min_score (unchanged when None).

    record (Record): An annotate result record (error records pass through).
    min_score (Optional[float]): E.g. `entity_threshold(nlp)` or `--min-score`.
    RETURNS (Record): A shallow copy with `ents` filtered; unscored entities are dropped,
        redacted ones (`annotate --redact`) kept: their text is already replaced.
    """
    if min_score is None or "ents" not in record:
        return record
    kept = [
        ent for ent in record["ents"]
        if ent.get("redacted") or (ent.get("score") is not None and ent["score"] >= min_score)
    ]
    return {**record, "ents": kept}


def cats_decisions(cats: Mapping[str, float], layout: RecordLayout) -> dict[str, float]:
    """The predicted labels as 1.0 / 0.0: the top label of each exclusive group, and
    every other label whose score reaches its threshold."""
    decisions = {}
    grouped = set()
    for group in layout.exclusive_groups:
        present = [label for label in group if label in cats]
        if present:
            top = max(present, key=lambda label: cats[label])
            decisions.update({label: float(label == top) for label in present})
            grouped.update(present)
    for label, score in cats.items():
        if label not in grouped:
            decisions[label] = float(score >= layout.thresholds.get(label, DEFAULT_THRESHOLD))
    return {label: decisions[label] for label in cats}


def record_confidence(record: Record, layout: RecordLayout = RecordLayout()) -> float:
    """How sure the pipeline is of a record: its least confident decision.

    Decisions: each entity (its score), each exclusive group (its top probability) and
    each other label (p when predicted, 1 - p when not).

    record (Record): An annotate result record.
    layout (RecordLayout): How to read its cats.
    RETURNS (float): In [0, 1]; 1.0 when the record has no scored decision.
    """
    cats = record.get("cats") or {}
    decisions = cats_decisions(cats, layout)
    scores = [ent["score"] for ent in record.get("ents") or [] if ent.get("score") is not None]
    grouped = set()
    for group in layout.exclusive_groups:
        present = [cats[label] for label in group if label in cats]
        if present:
            scores.append(max(present))
            grouped.update(group)
    for label, score in cats.items():
        if label not in grouped:
            scores.append(score if decisions[label] else 1.0 - score)
    return float(min(scores, default=1.0))


def review_record(record: Record, layout: RecordLayout = RecordLayout()) -> Record:
    """A review line for a record: the predictions as editable gold, plus the scores.

    record (Record): An annotate result record.
    layout (RecordLayout): What the pipeline predicts and how to read its cats.
    RETURNS (Record): See the module docstring.
    """
    cats = record.get("cats") or {}
    ents = record.get("ents") or []
    line: Record = {
        "id": record.get("id"),
        "text": record["text"],
        "confidence": record_confidence(record, layout),
    }
    if layout.has_cats:
        line["cats"] = cats_decisions(cats, layout)
    if layout.has_entities:
        line["entities"] = [[ent["start"], ent["end"], ent["label"]] for ent in ents]
    line["scores"] = {"cats": dict(cats), "entities": [dict(ent) for ent in ents]}
    return line


def select_for_review(
    records: Iterable[Record], k: int, layout: RecordLayout = RecordLayout()
) -> list[Record]:
    """The k least confident records as review lines, least confident first.

    Reads the records once and holds at most k of them (error records are skipped);
    ties keep input order.

    records (Iterable[Record]): Annotate result records, with entity scores.
    k (int): How many to select.
    layout (RecordLayout): E.g. `RecordLayout.from_pipeline(nlp)`.
    RETURNS (list[Record]): Review lines (see `review_record`).
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    scored = (
        (record_confidence(record, layout), i, record)
        for i, record in enumerate(records)
        if "error" not in record
    )
    lowest = heapq.nsmallest(k, scored, key=lambda item: (item[0], item[1]))
    return [review_record(record, layout) for _, _, record in lowest]


def write_review(
    records: Iterable[Record],
    path: Union[str, Path],
    k: int,
    layout: RecordLayout = RecordLayout(),
) -> int:
    """Write the k least confident records to a review JSONL file.

    records (Iterable[Record]): Annotate result records, with entity scores.
    path (Union[str, Path]): The JSONL file to write.
    k (int): How many to select.
    layout (RecordLayout): E.g. `RecordLayout.from_pipeline(nlp)`.
    RETURNS (int): Lines written.
    """
    lines = select_for_review(records, k, layout)
    srsly.write_jsonl(path, lines)
    return len(lines)


def read_reviewed(
    path: Union[str, Path],
    *,
    exclusive: bool = True,
    lang: str = "en",
    nlp: Optional[Language] = None,
) -> Iterator[Doc]:
    """Read a corrected review file as gold Docs ("missing stays missing").

    The same reader as `python -m spacy_albert convert textcat FILE --label-field cats`:
    listed entities become `doc.ents` (other tokens "O"), a line without `entities`
    keeps NER missing, a line without `cats` gets no cats. Errors name file and line.

    path (Union[str, Path]): The corrected JSONL file.
    exclusive (bool): Cats are one label per doc (False: multi-label).
    lang (str): Language of the blank tokenizer (ignored when `nlp` is given).
    nlp (Optional[Language]): Tokenize with this pipeline's tokenizer (recommended:
        the one that made the records, so entity offsets fall on token boundaries).
    YIELDS (Doc): One doc per line.
    """
    yield from read_textcat(
        path,
        file_format="jsonl",
        exclusive=exclusive,
        label_field="cats",
        entities_field="entities",
        lang=lang,
        nlp=nlp,
    )
