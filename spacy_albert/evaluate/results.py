"""The evaluation result as typed records: what scoring returns, what the report and
the console render, and (through `to_dict`) what `scores.json` holds."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass
class EntityTypeScores:
    """P/R/F of one entity type, and its number of gold entities."""

    p: float
    r: float
    f: float
    support: int


@dataclass
class EntityScores:
    """Entity scores on the docs whose reference has NER annotation.

    components (list[str]): The entity recognizers in the pipeline.
    n_docs (int): Docs scored; n_docs_excluded (int): docs without NER annotation.
    n_gold (int): Gold entities; n_pred (int): predicted entities, on scored docs.
    ents_p, ents_r, ents_f (Optional[float]): spaCy's `get_ner_prf`; None when
        there is nothing to score.
    ents_per_type (dict[str, EntityTypeScores]): Per label, sorted by label.
    """

    components: list[str]
    n_docs: int
    n_docs_excluded: int
    n_gold: int
    n_pred: int
    ents_p: float | None
    ents_r: float | None
    ents_f: float | None
    ents_per_type: dict[str, EntityTypeScores]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SeqevalScores:
    """seqeval's entity-level scores on IOB2 tags: the cross-check of spaCy's.

    n_docs_retokenized (int): Docs the pipeline tokenized differently from the
        reference, the only ones where spaCy's scorer and seqeval can differ.
    """

    p: float
    r: float
    f: float
    per_type: dict[str, EntityTypeScores]
    n_docs: int
    n_docs_retokenized: int
    mode: str = "default (conlleval)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CategoryScores:
    """P/R/F and ROC AUC of one label of a text classifier; support counts gold positives."""

    p: float | None
    r: float | None
    f: float | None
    auc: float | None
    support: int


@dataclass
class ExclusiveConfusion:
    """Docs counted by gold label (rows) and predicted label (columns)."""

    labels: list[str]
    matrix: list[list[int]]
    rows: str = field(default="gold", init=False)
    columns: str = field(default="predicted", init=False)


@dataclass
class MultilabelConfusion:
    """One `[[TN, FP], [FN, TP]]` block of decisions per label."""

    per_label: dict[str, list[list[int]]]
    layout: str = field(
        default="[[TN, FP], [FN, TP]]: rows gold no/yes, columns predicted no/yes", init=False
    )


@dataclass
class ChanceFinding:
    """One sign that a text classifier does no better than chance.

    check (Literal["one_class", "same_labels", "macro_f", "auc"]): "one_class": an
        exclusive classifier predicts one class, `answer`, for every doc;
        "same_labels": a multi-label one predicts the same labels, `answer`, for
        every doc; "macro_f": the macro F (`value`) is no higher than that of random
        guessing at the gold label rates (`chance`); "auc": the mean ROC AUC
        (`value`) is at most `chance`, just above 0.5.
    value (Optional[float]): The classifier's score, for "macro_f" and "auc".
    chance (Optional[float]): The score at chance, for "macro_f" and "auc".
    answer (Optional[str]): The one answer, for "one_class" and "same_labels".
    """

    check: Literal["one_class", "same_labels", "macro_f", "auc"]
    value: float | None = None
    chance: float | None = None
    answer: str | None = None


@dataclass
class TextcatScores:
    """Scores of one text classifier on the docs with gold cats for its labels.

    type (Literal["exclusive", "multilabel"]): How the labels relate.
    threshold (float): Multi-label decision threshold; 0.0 (argmax) if exclusive.
    accuracy (Optional[float]): Argmax accuracy (exclusive) or exact match over
        the labels with gold values (multi-label).
    hamming_accuracy (Optional[float]): Share of right (doc, label) decisions;
        multi-label only.
    macro_*, micro_*, score, score_desc: From spaCy's `Scorer.score_cats`.
    chance_level (list[ChanceFinding]): Why the head looks no better than chance;
        empty when it does not (see `chance.chance_level`).
    factory (str): The factory the component was made by, if known.
    """

    type: Literal["exclusive", "multilabel"]
    labels: list[str]
    threshold: float
    n_docs: int
    n_docs_excluded: int
    accuracy: float | None
    hamming_accuracy: float | None
    macro_p: float | None
    macro_r: float | None
    macro_f: float | None
    micro_p: float | None
    micro_r: float | None
    micro_f: float | None
    macro_auc: float | None
    score: float | None
    score_desc: str | None
    per_label: dict[str, CategoryScores]
    confusion_matrix: ExclusiveConfusion | MultilabelConfusion
    chance_level: list[ChanceFinding] = field(default_factory=list)
    factory: str = ""

    @property
    def multi_label(self) -> bool:
        return self.type == "multilabel"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not self.multi_label:
            del data["hamming_accuracy"]  # undefined for exclusive classes
        return data


@dataclass
class PredictionSpeed:
    """Speed of the prediction pass over the evaluation docs."""

    words_per_second: float | None
    n_words: int
    n_docs: int
    seconds: float


@dataclass
class PipelineInfo:
    """What the report says about the evaluated pipeline."""

    lang: str
    name: str | None
    version: str | None
    components: list[str]


@dataclass
class OutputFiles:
    """Names of the files written, relative to the output directory."""

    scores: str = "scores.json"
    report: str = "report.md"
    confusion: dict[str, str] = field(default_factory=dict)
    entities_html: str | None = None
    training_curve: str | None = None

    def written(self) -> list[str]:
        """RETURNS (list[str]): Every file written, in a stable order."""
        names = [self.scores, self.report, *self.confusion.values()]
        return names + [name for name in (self.entities_html, self.training_curve) if name]


@dataclass
class EvaluationResult:
    """Everything `evaluate_pipeline` measured; `to_dict()` is `scores.json`.

    data (Optional[str]): The evaluation data path, if read from disk.
    ents (Optional[EntityScores]): None if the pipeline has no entity recognizer.
    ents_seqeval (Optional[SeqevalScores]): None without entities or seqeval.
    cats (dict[str, TextcatScores]): Per text classifier, by component name.
    """

    pipeline: PipelineInfo
    data: str | None
    n_examples: int
    speed: PredictionSpeed
    ents: EntityScores | None = None
    ents_seqeval: SeqevalScores | None = None
    cats: dict[str, TextcatScores] = field(default_factory=dict)
    files: OutputFiles = field(default_factory=OutputFiles)

    @property
    def heads_at_chance(self) -> dict[str, list[ChanceFinding]]:
        """RETURNS (dict[str, list[ChanceFinding]]): The findings, per classifier at chance."""
        return {name: cats.chance_level for name, cats in self.cats.items() if cats.chance_level}

    def to_dict(self) -> dict[str, Any]:
        return {
            "pipeline": asdict(self.pipeline),
            "data": self.data,
            "n_examples": self.n_examples,
            "speed": asdict(self.speed),
            "ents": None if self.ents is None else self.ents.to_dict(),
            "ents_seqeval": None if self.ents_seqeval is None else self.ents_seqeval.to_dict(),
            "cats": {name: cats.to_dict() for name, cats in self.cats.items()},
            "files": asdict(self.files),
        }
