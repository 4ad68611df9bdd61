"""Entity confidence from the trained `ner`'s own beam search, and the extensions that
carry it.

Extensions (registered on import):

- `span._.score` (Optional[float]): the entity's confidence in [0, 1] — calibrated when
  the pipeline has a fitted `albert_calibrator`, else the raw beam score. None on spans
  nothing scored.
- `span._.raw_score` (Optional[float]): the raw beam score: the share of the beam's
  probability mass (spaCy's `EntityRecognizer.scored_ents`) on parses that contain this
  exact span and label. 0.0 when no parse in the beam contains it.
- `doc._.raw_cats` (Optional[dict[str, float]]): `doc.cats` as the text classifiers
  returned them, kept by `albert_calibrator` before it calibrates `doc.cats`.

Span values are stored in `doc.user_data` keyed by the span's character offsets, so they
travel with `DocBin(store_user_data=True)`, `doc.to_bytes()` and multiprocessing.
"""

import math
from collections.abc import Sequence
from typing import Optional

import numpy as np
from spacy.attrs import ENT_ID, ENT_IOB, ENT_KB_ID, ENT_TYPE
from spacy.pipeline import EntityRecognizer
from spacy.tokens import Doc, Span

from ..pipeline.segments import results_per_doc, segments

SCORE = "score"
RAW_SCORE = "raw_score"
RAW_CATS = "raw_cats"

EntityKey = tuple[int, int, str]
_ENT_ATTRS = [ENT_IOB, ENT_TYPE, ENT_KB_ID, ENT_ID]


def register_extensions() -> None:
    """Register `span._.score`, `span._.raw_score` and `doc._.raw_cats` (idempotent)."""
    for name in (SCORE, RAW_SCORE):
        if not Span.has_extension(name):
            Span.set_extension(name, default=None)
    if not Doc.has_extension(RAW_CATS):
        Doc.set_extension(RAW_CATS, default=None)


register_extensions()


def beam_entity_scores(
    ner: EntityRecognizer, docs: Sequence[Doc], beam_width: int, beam_density: float
) -> list[dict[EntityKey, float]]:
    """Run the ner's beam search and sum each candidate entity's share of the beam.

    The beam starts from the docs as the `ner` saw them: their entity annotation (set by
    the greedy `ner` already) is cleared while the beam runs and then restored exactly,
    because preset entities would force the beam onto the greedy answer. With a
    transformer listener the ner reads `doc._.trf_data`, so the encoder is not run again.
    A doc longer than the ner's `max_tokens_per_pass` (`albert_ner`) is scored over the
    same segments its greedy parse used, so memory stays bounded by the segment.

    ner (EntityRecognizer): The trained entity recognizer.
    docs (Sequence[Doc]): Docs with at least one token.
    beam_width (int): Parses kept per doc.
    beam_density (float): Prune parses scoring below this fraction of the best (0: none).
    RETURNS (list[dict[EntityKey, float]]): Per doc, (start token, end token, label) ->
        beam probability mass.
    """
    limit = getattr(ner, "max_tokens_per_pass", math.inf)  # spaCy's own ner: no limit
    return results_per_doc(
        docs, limit, lambda whole: _beam_scores(ner, whole, beam_width, beam_density),
        lambda doc: _segmented_beam_scores(ner, doc, limit, beam_width, beam_density),
    )


def _beam_scores(ner: EntityRecognizer, docs: Sequence[Doc], beam_width: int,
                 beam_density: float) -> list[dict[EntityKey, float]]:
    saved = [doc.to_array(_ENT_ATTRS) for doc in docs]
    try:
        for doc in docs:
            doc.set_ents([], default="missing")
        beams = ner.beam_parse(list(docs), beam_width=beam_width, beam_density=beam_density)
        return [dict(scores) for scores in ner.scored_ents(beams)]
    finally:
        for doc, array in zip(docs, saved):
            doc.from_array(_ENT_ATTRS, array)


def _segmented_beam_scores(ner: EntityRecognizer, doc: Doc, limit: int, beam_width: int,
                           beam_density: float) -> dict[EntityKey, float]:
    scores: dict[EntityKey, float] = {}
    for offset, segment in segments(doc, limit):
        # A copy: its entities can be cleared for the beam without restoring them.
        segment.set_ents([], default="missing")
        beams = ner.beam_parse([segment], beam_width=beam_width, beam_density=beam_density)
        scores.update(((start + offset, end + offset, label), value)
                      for (start, end, label), value in ner.scored_ents(beams)[0].items())
    return scores


def set_entity_scores(doc: Doc, scores: dict[EntityKey, float]) -> None:
    """Set `score` and `raw_score` on every entity of `doc.ents` from beam scores.

    doc (Doc): The doc whose entities to score (not changed otherwise).
    scores (dict[EntityKey, float]): From `beam_entity_scores`.
    """
    for ent in doc.ents:
        value = float(np.clip(scores.get((ent.start, ent.end, ent.label_), 0.0), 0.0, 1.0))
        ent._.set(RAW_SCORE, value)
        ent._.set(SCORE, value)


def entity_score(span: Span) -> Optional[float]:
    """The span's confidence (`span._.score`), or None when it was not scored."""
    return span._.get(SCORE)


def entity_scores(doc: Doc) -> list[tuple[Span, Optional[float]]]:
    """Every entity of `doc.ents` with its confidence, in document order.

    doc (Doc): A doc processed by a pipeline with `albert_entity_scorer`.
    RETURNS (list[tuple[Span, Optional[float]]]): (entity, score); None where unscored.
    """
    return [(ent, entity_score(ent)) for ent in doc.ents]


def confident_entities(doc: Doc, min_score: Optional[float]) -> list[Span]:
    """The entities whose score is >= min_score (all of them when min_score is None).

    An unscored entity is kept only when min_score is None.

    doc (Doc): A processed doc.
    min_score (Optional[float]): The threshold, e.g. `entity_threshold(nlp)`.
    RETURNS (list[Span]): The kept entities, in document order.
    """
    if min_score is None:
        return list(doc.ents)
    return [ent for ent, score in entity_scores(doc) if score is not None and score >= min_score]
