"""`albert_entity_scorer` (a confidence on every entity) and `albert_calibrator`
(dev-fitted calibration of `doc.cats` and entity scores), both never changing `doc.ents`
or an exclusive argmax.

    transformer -> ner -> albert_entity_scorer -> textcat ... -> albert_calibrator

`python -m spacy_albert calibrate` adds both to a trained pipeline and fits the
calibrator; the extensions they set are described in `spacy_albert.confidence`.
"""

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Optional, Union

from spacy.language import Language
from spacy.pipeline import EntityRecognizer, Pipe
from spacy.tokens import Doc
from spacy.util import ensure_path, minibatch
from spacy_transformers.layers import TransformerListener

from ..confidence.calibration import PipelineCalibration
from ..confidence.entity_scores import (
    RAW_CATS,
    RAW_SCORE,
    SCORE,
    beam_entity_scores,
    set_entity_scores,
)

ENTITY_SCORER = "albert_entity_scorer"
CALIBRATOR = "albert_calibrator"
_CALIBRATION_FILE = "calibration.json"


class EntityScorer(Pipe):
    """Scores each entity the `ner` predicted with the ner's own beam search."""

    def __init__(
        self, nlp: Language, name: str, *, ner: str, beam_width: int, beam_density: float
    ) -> None:
        if beam_width < 1:
            raise ValueError(f"[{name}] beam_width must be at least 1, got {beam_width}")
        if not 0.0 <= beam_density < 1.0:
            raise ValueError(f"[{name}] beam_density must be in [0, 1), got {beam_density}")
        self.nlp = nlp
        self.name = name
        self.ner = ner
        self.beam_width = beam_width
        self.beam_density = beam_density

    def __call__(self, doc: Doc) -> Doc:
        error_handler = self.get_error_handler()
        try:
            self.score_docs([doc])
            return doc
        except Exception as e:
            error_handler(self.name, self, [doc], e)

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        error_handler = self.get_error_handler()
        for docs in minibatch(stream, size=batch_size):
            try:
                self.score_docs(docs)
                yield from docs
            except Exception as e:
                error_handler(self.name, self, docs, e)

    def entity_recognizer(self) -> EntityRecognizer:
        """The `ner` component whose beam scores the entities."""
        if self.ner not in self.nlp.component_names:
            raise ValueError(
                f"[{self.name}] no component named {self.ner!r} in the pipeline "
                f"({', '.join(self.nlp.component_names)}): set the scorer's `ner` setting"
            )
        ner = self.nlp.get_pipe(self.ner)
        if not isinstance(ner, EntityRecognizer):
            raise ValueError(
                f"[{self.name}] component {self.ner!r} is a {type(ner).__name__}, "
                "not a transition-based EntityRecognizer "
                "(factory 'albert_ner', 'ner' or 'beam_ner')"
            )
        return ner

    def score_docs(self, docs: list[Doc]) -> None:
        """Set `span._.score` and `span._.raw_score` on every entity of the docs."""
        docs = [doc for doc in docs if len(doc)]
        if not docs:
            return
        ner = self.entity_recognizer()
        if any(isinstance(node, TransformerListener) for node in ner.model.walk()):
            if any(doc._.trf_data is None for doc in docs):
                raise ValueError(
                    f"[{self.name}] doc._.trf_data is missing, so {self.ner!r} would see "
                    f"zero vectors: place {self.name} after {self.ner!r} and before any "
                    "component that drops trf_data (e.g. doc_cleaner)"
                )
        scores = beam_entity_scores(ner, docs, self.beam_width, self.beam_density)
        for doc, doc_scores in zip(docs, scores):
            set_entity_scores(doc, doc_scores)


@Language.factory(
    ENTITY_SCORER,
    requires=["doc.ents"],
    assigns=[f"span._.{SCORE}", f"span._.{RAW_SCORE}"],
    default_config={"ner": "ner", "beam_width": 16, "beam_density": 0.0},
)
def make_albert_entity_scorer(
    nlp: Language, name: str, ner: str, beam_width: int, beam_density: float
) -> EntityScorer:
    """Score every predicted entity with the ner's beam, without changing `doc.ents`.

    The score of an entity is the share of the beam's probability mass on parses that
    contain it (spaCy's `EntityRecognizer.scored_ents`). Place it after the ner and
    before anything that drops `doc._.trf_data`; the encoder is not run again.

    ner (str): Name of the `ner` component to score.
    beam_width (int): Parses kept per doc (16: every greedy entity found in the beam on
        the demo dev set; 4-8 miss a few, which then score 0).
    beam_density (float): Prune parses below this fraction of the best score; 0 keeps
        the whole beam (pruning made greedy entities drop out of it, scoring 0).
    """
    return EntityScorer(nlp, name, ner=ner, beam_width=beam_width, beam_density=beam_density)


class Calibrator(Pipe):
    """Applies a `PipelineCalibration` fitted on dev to `doc.cats` and entity scores."""

    def __init__(self, name: str, calibration: Optional[PipelineCalibration] = None) -> None:
        self.name = name
        self.calibration = calibration or PipelineCalibration()

    @property
    def is_fitted(self) -> bool:
        """Whether a calibration was fitted (an unfitted calibrator changes nothing)."""
        return bool(self.calibration.cats) or self.calibration.entities is not None

    @property
    def thresholds(self) -> dict[str, float]:
        """Per-label decision thresholds of every multi-label head (calibrated scale)."""
        return {
            label: value
            for head in self.calibration.cats
            for label, value in head.thresholds.items()
        }

    @property
    def min_score(self) -> Optional[float]:
        """The entity score threshold chosen on dev for the asked precision, if any."""
        entities = self.calibration.entities
        return None if entities is None else entities.min_score

    def __call__(self, doc: Doc) -> Doc:
        if self.calibration.cats:
            raw = doc._.get(RAW_CATS)
            if raw is None:
                raw = dict(doc.cats)
                doc._.set(RAW_CATS, raw)
            for head in self.calibration.cats:
                if all(label in raw for label in head.labels):
                    values = head.apply([raw[label] for label in head.labels])
                    for label, value in zip(head.labels, values):
                        doc.cats[label] = float(value)
        entities = self.calibration.entities
        if entities is not None:
            for ent in doc.ents:
                raw_score = ent._.get(RAW_SCORE)
                if raw_score is not None:
                    ent._.set(SCORE, float(entities.score_map([raw_score])[0]))
        return doc

    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        # json, not srsly's ujson: floats must round-trip exactly for identical scores.
        return json.dumps(self.calibration.to_dict()).encode("utf8")

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "Calibrator":
        self.calibration = PipelineCalibration.from_dict(json.loads(bytes_data))
        return self

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> None:
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.calibration.to_dict(), indent=2)
        (path / _CALIBRATION_FILE).write_text(text + "\n", encoding="utf8")

    def from_disk(
        self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()
    ) -> "Calibrator":
        file = ensure_path(path) / _CALIBRATION_FILE
        if not file.exists():
            raise ValueError(f"[{self.name}] {file} is missing: the calibration was not saved")
        try:
            data: Any = json.loads(file.read_text(encoding="utf8"))
            self.calibration = PipelineCalibration.from_dict(data)
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"[{self.name}] cannot read {file}: {err}") from None
        return self


@Language.factory(
    CALIBRATOR,
    assigns=["doc.cats", f"span._.{SCORE}", f"doc._.{RAW_CATS}"],
    default_config={},
)
def make_albert_calibrator(nlp: Language, name: str) -> Calibrator:
    """Calibrate `doc.cats` (temperature scaling) and `span._.score` with a dev-fitted map.

    Fitted by `python -m spacy_albert calibrate` and saved with the pipeline; place it
    last. The raw cats stay in `doc._.raw_cats`, the raw entity scores in
    `span._.raw_score`. Unfitted, it changes nothing.
    """
    return Calibrator(name)
