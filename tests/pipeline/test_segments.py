"""Long docs through the heads a segment at a time (`max_tokens_per_pass`): the same
annotations as one whole-doc pass, in memory bounded by the segment."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.language import Language
from spacy.ml.models.textcat import (
    build_reduce_text_classifier,
    build_textcat_parametric_attention_v1,
)
from spacy.tokens import Doc, Span
from thinc.api import Model

from spacy_albert.models.architectures import text_cat_reduce_v1
from spacy_albert.pipeline.ner import AlbertEntityRecognizer
from spacy_albert.pipeline.segments import (
    predict_pooled_in_segments,
    segment_bounds,
    segments,
)

ROOT = Path(__file__).resolve().parents[2]
UNLIMITED = 10**9


@pytest.fixture(scope="module", params=["en", "zh"])
def nlp(request: pytest.FixtureRequest) -> Language:
    return request.getfixturevalue(f"{request.param}_nlp")


def corpus_text(lang: str) -> str:
    """The dev corpus as one document (a few thousand tokens, many entities)."""
    lines = (ROOT / "corpus" / lang / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    return (" " if lang == "en" else "").join(json.loads(line)["text"] for line in lines)


@contextmanager
def heads_limited_to(nlp: Language, max_tokens: int) -> Iterator[None]:
    heads = [nlp.get_pipe(name) for name in ("ner", "textcat")]
    before = [head.max_tokens_per_pass for head in heads]
    for head in heads:
        head.max_tokens_per_pass = max_tokens
    try:
        yield
    finally:
        for head, limit in zip(heads, before):
            head.max_tokens_per_pass = limit


def entities(doc: Doc) -> list[tuple[int, int, str]]:
    return [(ent.start, ent.end, ent.label_) for ent in doc.ents]


def test_bounds_cover_the_doc_and_end_at_sentence_ends() -> None:
    doc = spacy.blank("en")("One two three. Four five six. Seven eight nine. Ten")
    bounds = segment_bounds(doc, 6)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(doc)
    assert all(end == next_start for (_, end), (next_start, _) in zip(bounds, bounds[1:]))
    assert all(0 < end - start <= 6 for start, end in bounds)
    assert all(doc[end - 1].text == "." for _, end in bounds[:-1])


def test_bounds_cut_hard_where_no_sentence_ends() -> None:
    doc = spacy.blank("en")("a b c d e f g")
    assert segment_bounds(doc, 3) == [(0, 3), (3, 6), (6, 7)]
    assert segment_bounds(doc, 100) == [(0, 7)]


def test_bounds_follow_the_docs_sentences() -> None:
    words = "a b c d e f g h".split()
    starts = [True, False, False, True, False, False, True, False]
    doc = Doc(spacy.blank("en").vocab, words=words, sent_starts=starts)
    assert segment_bounds(doc, 5) == [(0, 3), (3, 8)]
    assert segment_bounds(doc, 4) == [(0, 3), (3, 6), (6, 8)]


def test_bounds_refuse_a_non_positive_limit() -> None:
    with pytest.raises(ValueError, match="max_tokens_per_pass must be at least 1"):
        segment_bounds(spacy.blank("en")("a b"), 0)


def test_segments_keep_words_entities_and_sentences() -> None:
    nlp = spacy.blank("en")
    doc = nlp("Alice met Bob . Carol saw Dan in Rome .")
    doc.set_ents([Span(doc, 0, 1, "PER"), Span(doc, 8, 9, "LOC")], blocked=[doc[2:3]],
                 default="missing")
    doc[4].is_sent_start = True
    assert not any(segment.has_annotation("ENT_IOB") for _, segment in segments(doc, 5))
    pieces = list(segments(doc, 5, entities=True))
    assert [offset for offset, _ in pieces] == [0, 4, 9]
    assert "".join(segment.text_with_ws for _, segment in pieces) == doc.text
    shifted = [(offset + ent.start, offset + ent.end, ent.label_)
               for offset, segment in pieces for ent in segment.ents]
    assert shifted == entities(doc)
    assert pieces[0][1][2].ent_iob_ == "B" and pieces[0][1][2].ent_type_ == ""  # blocked
    assert pieces[1][1][0].is_sent_start


def fake_tok2vec(width: int = 4) -> Model:
    """A context-free tok2vec (each token's vector depends on its text only), so any
    segmentation must give exactly the whole doc's pooled vectors."""

    def forward(model: Model, docs: list[Doc], is_train: bool):
        rows = [numpy.stack([numpy.random.default_rng(token.orth % 2**32).normal(size=width)
                             for token in doc]).astype("f") for doc in docs]
        return rows, lambda d_rows: []

    return Model("fake_tok2vec", forward, dims={"nO": width})


@pytest.mark.parametrize("reductions", [
    (True, True, True, True), (False, False, False, True), (True, False, True, False),
])
@pytest.mark.parametrize("build", [build_reduce_text_classifier, text_cat_reduce_v1])
def test_pooled_segments_equal_the_whole_doc_for_every_reduction(build, reductions) -> None:
    model = build(fake_tok2vec(), True, *reductions, nO=3)
    model.initialize()
    doc = spacy.blank("en")(" ".join(f"w{i % 17}" for i in range(50)) + " end.")
    whole = model.predict([doc])
    for limit in (7, 20, 51):
        numpy.testing.assert_allclose(predict_pooled_in_segments(model, doc, limit), whole,
                                      rtol=1e-5, atol=1e-6)


def test_attention_pooled_segments_equal_the_whole_doc() -> None:
    """spaCy's attention head: a softmax over all the doc's tokens, combined exactly
    across segments however far apart their attention logits are."""
    doc = spacy.blank("en")(" ".join(f"w{i % 17}" for i in range(50)) + " end.")
    model = build_textcat_parametric_attention_v1(fake_tok2vec(), True, nO=3)
    model.initialize(X=[doc])
    attention = model.layers[0].get_ref("attention_layer")
    # Weights far from uniform, with logits past the ±20 thinc's softmax clips them to.
    attention.set_param("Q", attention.get_param("Q") * 2000)
    whole = model.predict([doc])
    for limit in (7, 20, 51):
        numpy.testing.assert_allclose(predict_pooled_in_segments(model, doc, limit), whole,
                                      rtol=1e-5, atol=1e-6)


def test_other_textcat_architectures_are_not_segmented() -> None:
    assert predict_pooled_in_segments(fake_tok2vec(), spacy.blank("en")("a b c"), 1) is None


def test_long_doc_gets_the_whole_doc_annotations(nlp: Language) -> None:
    """Away from the cuts, the segment pass gives the whole-doc pass's entities exactly.
    At a cut (a sentence end) the segment's parse starts afresh and cannot run an entity on
    into the next segment: there a model that carries an entity over a sentence end (seen:
    "Lake Verrow . Avoid") may end it at the cut instead, and the part of it after the cut
    may come out as an entity of its own (seen: 1152-1163 whole, 1152-1155 and 1161-1163
    cut at 1155, on an AMD EPYC with AVX-512). Textcat pools the same vectors."""
    text = corpus_text(nlp.lang)
    with heads_limited_to(nlp, UNLIMITED):
        whole = nlp(text)
    assert len(whole) > 1000 and len(whole.ents) > 20
    for limit in (1000, 200):
        with heads_limited_to(nlp, limit):
            segmented = nlp(text)
        assert_entities_differ_only_at_cuts(segmented, whole, limit)
        assert segmented.cats == pytest.approx(whole.cats, abs=1e-5)


def assert_entities_differ_only_at_cuts(segmented: Doc, whole: Doc, limit: int) -> None:
    """The segmented parse's entities are the whole doc's, but at the cuts of segments of
    `limit` tokens: there an entity the whole parse carries over may end at the cut, and
    what followed it may be an entity of its own."""
    cuts = [start for start, _ in segment_bounds(whole, limit)[1:]]
    differing = set(entities(segmented)) ^ set(entities(whole))
    at_cuts = [entity for entity in differing if touches_a_cut(entity, cuts)]
    assert all(any(inside(entity, cut_entity) for cut_entity in at_cuts)
               for entity in differing), (differing, cuts)
    # Per cut: the whole doc's entity, where the segment ended it, and what followed.
    assert len(differing) <= 3 * len(cuts)


def inside(entity: tuple[int, int, str], outer: tuple[int, int, str]) -> bool:
    """Whether the entity's tokens lie within `outer`'s (an entity is inside itself)."""
    return outer[0] <= entity[0] and entity[1] <= outer[1]


def touches_a_cut(entity: tuple[int, int, str], cuts: list[int]) -> bool:
    """Whether the entity crosses a cut, or ends or starts at one."""
    start, end, _ = entity
    return any(start <= cut <= end for cut in cuts)


def test_batches_mixing_long_and_short_docs_keep_each_docs_result(nlp: Language) -> None:
    long_text = corpus_text(nlp.lang)
    short_texts = [json.loads(line)["text"] for line in
                   (ROOT / "corpus" / nlp.lang / "dev.jsonl").read_text().splitlines()[:3]]
    texts = [short_texts[0], long_text, short_texts[1], long_text[: len(long_text) // 2],
             short_texts[2]]
    with heads_limited_to(nlp, 300):
        one_by_one = [nlp(text) for text in texts]
        batched = list(nlp.pipe(texts, batch_size=5))
    for single, in_batch in zip(one_by_one, batched):
        assert entities(in_batch) == entities(single)
        assert in_batch.cats == pytest.approx(single.cats, abs=1e-5)


def test_preset_entities_survive_a_segmented_parse(nlp: Language) -> None:
    """As with spaCy's `ner`, entities set before it (an entity ruler) are kept."""
    text = corpus_text(nlp.lang)
    doc = nlp.make_doc(text)
    preset = Span(doc, 5, 7, label="PRESET", kb_id="Q42")
    doc.set_ents([preset], blocked=[doc[900:901]], default="missing")
    with heads_limited_to(nlp, 200):
        for _, component in nlp.pipeline:
            doc = component(doc)
    kept = [ent for ent in doc.ents if ent.label_ == "PRESET"]
    assert [(ent.start, ent.end, ent.kb_id_) for ent in kept] == [(5, 7, "Q42")]
    assert doc[900].ent_iob_ == "B" and doc[900].ent_type_ == ""
    assert all(token.ent_iob_ for token in doc)


def test_albert_ner_is_spacys_ner_with_a_segment_limit(nlp: Language) -> None:
    ner = nlp.get_pipe("ner")
    assert isinstance(ner, AlbertEntityRecognizer)
    assert nlp.get_pipe_meta("ner").factory == "albert_ner"
    assert nlp.config["components"]["ner"]["max_tokens_per_pass"] == ner.max_tokens_per_pass


@pytest.mark.parametrize("factory", ["albert_ner", "albert_textcat"])
def test_a_non_positive_limit_is_refused_with_the_component_name(factory: str) -> None:
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match=r"\[head\] max_tokens_per_pass must be at least 1"):
        nlp.add_pipe(factory, name="head", config={"max_tokens_per_pass": 0})
