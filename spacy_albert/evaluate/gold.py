"""Which docs count for which task.

A joint dev set usually mixes NER-only docs (no `doc.cats`) and textcat-only docs
(no entity annotation). Scoring both tasks on every doc would count the textcat-only
docs as "no entities" and the NER-only docs as "no category", so each task is scored
only on the docs whose *reference* carries its annotation:

* entities: docs with NER annotation (`Doc.has_annotation("ENT_IOB")`, the test
  spaCy's `get_ner_prf` applies): at least one token is "B", "I" or "O".
* categories, per classifier: `has_gold_cats`, the rule the `albert_textcat`
  scorer also applies, so `spacy evaluate` and `spacy_albert evaluate` agree.
"""

from __future__ import annotations

from collections.abc import Iterable

from spacy.tokens import Doc
from spacy.training import Example

from ..pipeline.textcat import has_gold_cats

__all__ = ["has_gold_cats", "has_ner_annotation", "with_gold_cats", "with_ner_annotation"]


def has_ner_annotation(doc: Doc) -> bool:
    """Whether a reference doc carries NER annotation: a doc where every token's
    `ent_iob_` is `""` (missing) says nothing about entities and is not scored.
    An empty doc counts as annotated, as in spaCy (it holds no entity to miss).

    doc (Doc): The reference doc.
    RETURNS (bool): Whether the doc is NER-annotated.
    """
    return doc.has_annotation("ENT_IOB")


def with_ner_annotation(examples: Iterable[Example]) -> list[Example]:
    """The examples whose reference has NER annotation.

    examples (Iterable[Example]): Gold examples.
    RETURNS (list[Example]): Those to score entities on, in order.
    """
    return [eg for eg in examples if has_ner_annotation(eg.reference)]


def with_gold_cats(
    examples: Iterable[Example], labels: Iterable[str], *, multi_label: bool
) -> list[Example]:
    """The examples whose reference has gold cats for a classifier (`has_gold_cats`).

    examples (Iterable[Example]): Gold examples.
    labels (Iterable[str]): The classifier's labels.
    multi_label (bool): Whether the classifier is multi-label.
    RETURNS (list[Example]): Those to score the classifier on, in order.
    """
    labels = list(labels)
    return [eg for eg in examples if has_gold_cats(eg.reference, labels, multi_label=multi_label)]
