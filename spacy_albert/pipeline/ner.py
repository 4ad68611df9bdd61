"""`albert_ner`: spaCy's `ner`, predicting long docs a segment at a time.

Everything but prediction on long docs is spaCy's `EntityRecognizer`: model, transition
system, training, scoring, serialization (a pipeline's `ner` weights load into it and
back). spaCy's `ner` precomputes its hidden layer's input for every token of a batch
before parsing (3 features × hidden width × maxout pieces floats per token: 1.5 GB for a
1M-character Chinese doc). Here a doc longer than `max_tokens_per_pass` is parsed as
segments cut at sentence ends (`segments.py`), each parsed on its own, and its entities
are written back; docs up to that length go through spaCy's path unchanged.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy
from spacy.attrs import ENT_IOB, ENT_TYPE
from spacy.language import Language
from spacy.pipeline.ner import DEFAULT_NER_MODEL, EntityRecognizer
from spacy.tokens import Doc, Span
from thinc.api import Model

from ..models.torch_gemm import CpuGemm, use_cpu_gemm
from .segments import (
    DEFAULT_MAX_TOKENS_PER_PASS,
    checked_max_tokens,
    results_per_doc,
    segments,
)

# spaCy's ENT_IOB code for "begins an entity"; with no type, a blocked token.
BEGIN = 3


@dataclass
class SegmentedParse:
    """A long doc's entity annotation, parsed in segments, in doc token offsets: what
    spaCy's `ner` set on each segment (preset entities and blocked tokens included).

    Kept as one small array per segment, not as Python objects per entity: a 1M-token
    doc can have ~80k entities, and tuples of hashes cost ~200 bytes each.

    entities (list[numpy.ndarray]): Per segment, rows of (start, end, label, kb_id,
        ent_id), uint64.
    blocked (list[numpy.ndarray]): Per segment, tokens marked as never part of an entity.
    """

    entities: list[numpy.ndarray] = field(default_factory=list)
    blocked: list[numpy.ndarray] = field(default_factory=list)

    def add(self, segment: Doc, offset: int) -> None:
        """Record an annotated segment that starts at token `offset` of the doc."""
        self.entities.append(numpy.array(
            [(offset + ent.start, offset + ent.end, ent.label, ent.kb_id, ent.id)
             for ent in segment.ents], dtype=numpy.uint64).reshape(-1, 5))
        iob_and_type = segment.to_array([ENT_IOB, ENT_TYPE])
        blocked = (iob_and_type[:, 0] == BEGIN) & (iob_and_type[:, 1] == 0)
        self.blocked.append(offset + numpy.flatnonzero(blocked))

    def write(self, doc: Doc) -> None:
        """Set it on the doc; every other token is O, as spaCy's `ner` leaves them.

        All tokens are set to O first, then each segment's entities and blocked tokens
        on top: the same annotation as one `set_ents` call, without a Span per entity
        of the whole doc at once.
        """
        doc.set_ents([], default="outside")
        for entities, blocked in zip(self.entities, self.blocked):
            doc.set_ents(
                [Span(doc, int(start), int(end), label=int(label), kb_id=int(kb_id),
                      span_id=int(ent_id)) for start, end, label, kb_id, ent_id in entities],
                blocked=[doc[int(i) : int(i) + 1] for i in blocked],
                default="unmodified",
            )


class AlbertEntityRecognizer(EntityRecognizer):
    """spaCy's EntityRecognizer; docs longer than `max_tokens_per_pass` are parsed in
    segments so memory stays bounded by the segment, not the doc."""

    def __init__(self, vocab: Any, model: Model, name: str = "ner", moves: Any = None, *,
                 max_tokens_per_pass: int = DEFAULT_MAX_TOKENS_PER_PASS,
                 cpu_gemm: CpuGemm = "torch", **kwargs: Any) -> None:
        super().__init__(vocab, model, name, moves, **kwargs)
        self.max_tokens_per_pass = checked_max_tokens(name, max_tokens_per_pass)
        use_cpu_gemm(self.model, cpu_gemm)

    def predict(self, docs: Iterable[Doc]) -> list[Any]:
        """Parse states per doc (spaCy's), or a `SegmentedParse` for a long doc."""
        docs = [docs] if isinstance(docs, Doc) else list(docs)
        return results_per_doc(docs, self.max_tokens_per_pass, super().predict,
                               self._predict_segments)

    def _predict_segments(self, doc: Doc) -> SegmentedParse:
        parse = SegmentedParse()
        for offset, segment in segments(doc, self.max_tokens_per_pass, entities=True):
            # The segment is a copy, so spaCy's own annotation step can run on it.
            super().set_annotations([segment], super().predict([segment]))
            parse.add(segment, offset)
        return parse

    def set_annotations(self, docs: Iterable[Doc], states_or_beams: Sequence[Any]) -> None:
        """spaCy's annotation for whole-doc parses; segmented ones write theirs."""
        docs = list(docs)
        predictions = list(states_or_beams)
        whole = [(doc, prediction) for doc, prediction in zip(docs, predictions)
                 if not isinstance(prediction, SegmentedParse)]
        if whole:
            super().set_annotations([doc for doc, _ in whole], [p for _, p in whole])
        for doc, prediction in zip(docs, predictions):
            if isinstance(prediction, SegmentedParse):
                prediction.write(doc)


@Language.factory(
    "albert_ner",
    assigns=["doc.ents", "token.ent_iob", "token.ent_type"],
    default_config={
        "moves": None,
        "update_with_oracle_cut_size": 100,
        "model": DEFAULT_NER_MODEL,
        "incorrect_spans_key": None,
        "scorer": {"@scorers": "spacy.ner_scorer.v1"},
        "max_tokens_per_pass": DEFAULT_MAX_TOKENS_PER_PASS,
        "cpu_gemm": "torch",
    },
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_albert_ner(
    nlp: Language,
    name: str,
    model: Model,
    moves: Optional[Any],
    update_with_oracle_cut_size: int,
    incorrect_spans_key: Optional[str],
    scorer: Optional[Callable],
    max_tokens_per_pass: int,
    cpu_gemm: CpuGemm,
) -> AlbertEntityRecognizer:
    """spaCy's `ner` with bounded memory on long docs.

    model (Model): spaCy's `TransitionBasedParser` over a transformer listener.
    moves, update_with_oracle_cut_size, incorrect_spans_key, scorer: As spaCy's `ner`.
    max_tokens_per_pass (int): Docs longer than this are parsed in segments of at most
        this many tokens, cut at sentence ends.
    cpu_gemm (str): The model's matrix products on CPU: "torch" (torch's BLAS, on the
        encoder's threads) or "thinc" (BLIS); see `models/torch_gemm.py`.
    """
    return AlbertEntityRecognizer(
        nlp.vocab, model, name, moves,
        update_with_oracle_cut_size=update_with_oracle_cut_size,
        incorrect_spans_key=incorrect_spans_key, scorer=scorer,
        max_tokens_per_pass=max_tokens_per_pass, cpu_gemm=cpu_gemm,
    )
