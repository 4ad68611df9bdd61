"""albert_textcat: exclusive textcat that learns only from docs with gold cats."""

from pathlib import Path

import numpy
import pytest
import spacy
import srsly
from spacy.scorer import Scorer
from spacy.training import Example
from spacy.util import load_config, load_model_from_config

from spacy_albert.models.architectures import TEXTCAT_ARCH_NAME
from spacy_albert.models.piece_pooling import PIECE_LISTENER_ARCH_NAME
from spacy_albert.pipeline.segments import DEFAULT_MAX_TOKENS_PER_PASS, pooled_classifier
from spacy_albert.pipeline.textcat import (
    AlbertTextCategorizer,
    has_gold_cats,
    score_exclusive_cats,
)
from tests.conftest import train_pipeline

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
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


ATTENTION_HEAD = {"@architectures": "spacy.TextCatParametricAttention.v1",
                  "exclusive_classes": True, "nO": None,
                  "tok2vec": {"@architectures": "spacy-transformers.TransformerListener.v1",
                              "grad_factor": 1.0, "pooling": {"@layers": "reduce_mean.v1"},
                              "upstream": "transformer"}}


@pytest.fixture(scope="module")
def attention_nlp(en_model_dir):
    """configs/textcat.cfg with spaCy's attention head over the tiny encoder."""
    config = load_config(CONFIGS / "textcat.cfg")
    config["paths"]["transformer"] = str(en_model_dir)
    config["components"]["textcat"]["model"] = ATTENTION_HEAD
    nlp = load_model_from_config(config.interpolate(), auto_fill=True)
    examples = [Example.from_dict(nlp.make_doc(text), {"cats": cats}) for text, cats in
                [("great fun", LABELS), ("awful mess", {"POSITIVE": 0.0, "NEGATIVE": 1.0})]]
    nlp.initialize(lambda: examples)
    # Trained-looking weights, seeded: attention far from uniform, a residual layer that
    # does not map zero vectors to zero and an output layer that is not all zeros.
    model = nlp.get_pipe("textcat").model
    rng = numpy.random.default_rng(0)
    for layer, name in ((model.layers[0].get_ref("attention_layer"), "Q"),
                        (model.layers[0].get_ref("norm_layer"), "b"),
                        (model.get_ref("output_layer"), "W")):
        layer.set_param(name, rng.normal(size=layer.get_param(name).shape).astype("f"))
    return nlp


def test_attention_head_gives_an_empty_doc_its_cats_in_any_batch(attention_nlp):
    alone = attention_nlp("").cats
    in_batch = next(iter(attention_nlp.pipe(["", "great fun in Lisbon"]))).cats
    assert sum(alone.values()) == pytest.approx(1.0, abs=1e-5)
    assert alone == pytest.approx(in_batch, abs=1e-6)


def test_attention_head_scores_a_long_doc_a_segment_at_a_time(attention_nlp):
    textcat = attention_nlp.get_pipe("textcat")
    assert pooled_classifier(textcat.model) is not None
    text = " ".join(["Great fun in Lisbon.", "An awful mess, sadly."] * 40)
    whole = attention_nlp(text).cats
    textcat.max_tokens_per_pass = 25
    try:
        segmented = attention_nlp(text).cats
    finally:
        textcat.max_tokens_per_pass = DEFAULT_MAX_TOKENS_PER_PASS
    assert segmented == pytest.approx(whole, abs=1e-5)


PIECE_LISTENER = {"@architectures": PIECE_LISTENER_ARCH_NAME, "grad_factor": 1.0,
                  "upstream": "transformer"}


@pytest.mark.parametrize("tok2vec", [None, PIECE_LISTENER], ids=["token-mean", "piece-mean"])
def test_pooled_dropout_head_learns_saves_and_sources(en_model_dir, en_docbins, tmp_path,
                                                      tok2vec):
    """`spacy-albert.TextCatReduce.v1` through `spacy train`, a reload and
    `replace_listeners`, as spaCy's textcat head goes: over the token listener and over
    the piece listener."""
    overrides = {"components.textcat.model.@architectures": TEXTCAT_ARCH_NAME}
    if tok2vec is not None:
        overrides["components.textcat.model.tok2vec"] = tok2vec
    trained = train_pipeline("textcat.cfg", "en", en_model_dir, en_docbins, tmp_path / "trained",
                             **overrides)
    meta = srsly.read_json(trained / "meta.json")
    assert meta["performance"]["cats_score"] > 0.75, meta["performance"]  # chance: ~0.5
    nlp = spacy.load(trained)
    assert nlp.config["components"]["textcat"]["model"]["@architectures"] == TEXTCAT_ARCH_NAME
    text = "The service was slow but the food was wonderful."
    expected = nlp(text).cats
    sourced = spacy.blank("en")
    for name in nlp.pipe_names:
        sourced.add_pipe(name, source=nlp)
    sourced.replace_listeners("transformer", "textcat", ["model.tok2vec"])
    sourced.remove_pipe("transformer")
    sourced.to_disk(tmp_path / "sourced")
    assert spacy.load(tmp_path / "sourced")(text).cats == pytest.approx(expected, abs=1e-5)
