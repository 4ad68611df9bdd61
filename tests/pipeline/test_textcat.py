"""albert_textcat: exclusive textcat that learns only from docs with gold cats."""

import numpy
import pytest
import spacy
from spacy.scorer import Scorer
from spacy.training import Example

from spacy_albert.pipeline.textcat import (
    AlbertTextCategorizer,
    has_gold_cats,
    score_exclusive_cats,
)

LABELS = {"POSITIVE": 1.0, "NEGATIVE": 0.0}


def make_nlp(factory: str):
    nlp = spacy.blank("en")
    textcat = nlp.add_pipe(factory)
    examples = [
        Example.from_dict(nlp.make_doc("great fun"), {"cats": LABELS}),
        Example.from_dict(nlp.make_doc("awful mess"), {"cats": {"POSITIVE": 0.0, "NEGATIVE": 1.0}}),
    ]
    nlp.initialize(lambda: examples)
    return nlp, textcat


def test_docs_without_cats_contribute_no_loss_and_no_gradient():
    nlp, textcat = make_nlp("albert_textcat")
    assert isinstance(textcat, AlbertTextCategorizer)
    unlabelled = [Example(nlp.make_doc("no cats here"), nlp.make_doc("no cats here"))]
    scores = textcat.model.predict([eg.predicted for eg in unlabelled])
    loss, gradient = textcat.get_loss(unlabelled, scores)
    assert loss == 0.0
    assert not numpy.any(gradient)
    losses = {}
    nlp.update(unlabelled, losses=losses)
    assert losses["albert_textcat"] == 0.0
    labelled = [Example.from_dict(nlp.make_doc("great fun"), {"cats": LABELS})]
    loss, gradient = textcat.get_loss(labelled, textcat.model.predict([labelled[0].predicted]))
    assert loss > 0.0 and numpy.any(gradient)


def test_spacy_textcat_would_train_unlabelled_docs_toward_zero():
    """Why the component exists: spaCy's exclusive textcat counts missing cats as 0."""
    nlp, textcat = make_nlp("textcat")
    unlabelled = [Example(nlp.make_doc("no cats here"), nlp.make_doc("no cats here"))]
    loss, _ = textcat.get_loss(unlabelled, textcat.model.predict([unlabelled[0].predicted]))
    assert loss > 0.0


def test_scorer_skips_docs_without_gold_cats():
    nlp, textcat = make_nlp("albert_textcat")
    labelled = Example.from_dict(nlp.make_doc("great fun"), {"cats": LABELS})
    labelled.predicted.cats = {"POSITIVE": 0.9, "NEGATIVE": 0.1}
    unlabelled = Example(nlp.make_doc("x"), nlp.make_doc("x"))
    unlabelled.predicted.cats = {"POSITIVE": 0.2, "NEGATIVE": 0.8}
    both = score_exclusive_cats([labelled, unlabelled], labels=list(textcat.labels))
    only = score_exclusive_cats([labelled], labels=list(textcat.labels))
    assert both == only
    assert both["cats_macro_f"] == pytest.approx(only["cats_macro_f"])
    assert textcat.score([labelled, unlabelled])["cats_score"] == only["cats_score"]


def test_scorer_skips_docs_whose_cats_are_all_zero():
    """All-zero exclusive cats name no gold class; spaCy's `score_cats` would take the
    first label as gold. The scorer uses the same `has_gold_cats` as `spacy_albert evaluate`."""
    nlp, textcat = make_nlp("albert_textcat")
    labelled = Example.from_dict(nlp.make_doc("great fun"), {"cats": LABELS})
    labelled.predicted.cats = {"POSITIVE": 0.9, "NEGATIVE": 0.1}
    zeros = Example.from_dict(nlp.make_doc("meh"), {"cats": {"POSITIVE": 0.0, "NEGATIVE": 0.0}})
    zeros.predicted.cats = {"POSITIVE": 0.3, "NEGATIVE": 0.7}
    labels = list(textcat.labels)
    assert not has_gold_cats(zeros.reference, labels, multi_label=False)
    assert has_gold_cats(labelled.reference, labels, multi_label=False)
    both = score_exclusive_cats([labelled, zeros], labels=labels)
    assert both == score_exclusive_cats([labelled], labels=labels)
    assert both != Scorer.score_cats([labelled, zeros], "cats", labels=labels, multi_label=False)


def test_two_positive_labels_are_rejected_with_a_clear_error():
    nlp, textcat = make_nlp("albert_textcat")
    bad = Example.from_dict(nlp.make_doc("both"), {"cats": {"POSITIVE": 1.0, "NEGATIVE": 1.0}})
    with pytest.raises(ValueError, match="exactly one label at 1.0"):
        nlp.update([bad])
    # Labels of another component (e.g. topics) in the same doc are not ours to check.
    mixed = Example.from_dict(nlp.make_doc("ok"), {"cats": {**LABELS, "SPORTS": 1.0}})
    textcat._validate_categories([mixed])
