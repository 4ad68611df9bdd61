import numpy as np
import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span

from spacy_albert.confidence.entity_scores import entity_scores
from spacy_albert.confidence.outcomes import collect_predictions, predict_pairs
from spacy_albert.pipeline.confidence import ENTITY_SCORER
from tests.pipeline.test_segments import assert_entities_differ_only_at_cuts

pytestmark = pytest.mark.slow


def ent_state(doc):
    return [(t.ent_iob_, t.ent_type_) for t in doc], [(e.start, e.end, e.label_) for e in doc.ents]


def test_every_entity_gets_a_score_in_unit_interval_and_ents_do_not_change(
    en_nlp, scored_nlp, dev_docs
):
    texts = [doc.text for doc in dev_docs]
    n_ents = 0
    for plain, scored in zip(en_nlp.pipe(texts), scored_nlp.pipe(texts)):
        assert ent_state(scored) == ent_state(plain)
        for ent, score in entity_scores(scored):
            assert score is not None and 0.0 <= score <= 1.0
            assert ent._.raw_score == score
            n_ents += 1
    assert n_ents > 50


def test_the_encoder_is_not_run_again(scored_nlp, dev_docs):
    encoder = scored_nlp.get_pipe("transformer").model.transformer
    calls = []
    handle = encoder.register_forward_hook(lambda *args: calls.append(1))
    try:
        scored_nlp(dev_docs[0].text)
        assert len(calls) == 1
        calls.clear()
        docs = list(scored_nlp.pipe([d.text for d in dev_docs[:16]], batch_size=16))
        assert len(calls) == 1
        assert any(ent._.score is not None for doc in docs for ent in doc.ents)
    finally:
        handle.remove()


def reversed_words(doc):
    """The doc's words in reverse order, entities kept: a context the ner never saw, so
    it makes errors to rank (on the dev docs themselves the trained ner makes ~2)."""
    n = len(doc)
    reversed_doc = Doc(doc.vocab, words=[token.text for token in reversed(doc)])
    reversed_doc.ents = [Span(reversed_doc, n - ent.end, n - ent.start, ent.label_)
                         for ent in doc.ents]
    return reversed_doc


def test_lowest_scores_are_where_the_errors_are(scored_nlp, dev_docs):
    pairs = predict_pairs(scored_nlp, dev_docs + [reversed_words(doc) for doc in dev_docs])
    ents = collect_predictions(pairs, [], entities=True).entities
    errors = ~ents.correct
    assert 3 <= errors.sum() < len(errors)
    # Ranking quality: a random error outscores a random correct entity rarely (AUROC).
    pos, neg = ents.raw[ents.correct], ents.raw[errors]
    auroc = np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg])
    assert auroc >= 0.75, auroc
    # Sorting by score puts errors first: the n_errors lowest hold most of the errors.
    lowest = np.argsort(ents.raw, kind="stable")[: errors.sum()]
    assert errors[lowest].mean() >= 0.5, (errors[lowest].mean(), errors.mean())


def test_scores_are_deterministic_and_independent_of_batching(scored_nlp, dev_docs):
    texts = [d.text for d in dev_docs[:24]]

    def scores(docs):
        return [[(e.start, e.end, e.label_, e._.score) for e in doc.ents] for doc in docs]

    first = scores(scored_nlp.pipe(texts, batch_size=8))
    assert scores(scored_nlp.pipe(texts, batch_size=8)) == first
    for got, want in zip(scores(map(scored_nlp, texts)), first):
        assert [g[:3] for g in got] == [w[:3] for w in want]
        assert [g[3] for g in got] == pytest.approx([w[3] for w in want], abs=1e-5)


def test_scores_travel_with_docbin_user_data(scored_nlp, dev_docs):
    docs = list(scored_nlp.pipe([d.text for d in dev_docs[:5]]))
    for doc in docs:
        doc._.trf_data = None  # only the scores should need to travel
    data = DocBin(docs=docs, store_user_data=True).to_bytes()
    back = list(DocBin().from_bytes(data).get_docs(scored_nlp.vocab))
    assert [[e._.score for e in d.ents] for d in back] == [
        [e._.score for e in d.ents] for d in docs
    ]


def test_empty_and_whitespace_docs(scored_nlp):
    assert scored_nlp("").ents == ()
    assert scored_nlp("   \n ").ents == ()


def test_scorer_after_trf_data_is_dropped_is_a_clear_error(en_pipeline_dir):
    nlp = spacy.load(en_pipeline_dir)
    nlp.add_pipe("doc_cleaner", after="ner", config={"attrs": {"_.trf_data": None}})
    nlp.add_pipe(ENTITY_SCORER, after="doc_cleaner")
    with pytest.raises(ValueError, match="trf_data is missing.*doc_cleaner"):
        nlp("Laura Chen visited Paris.")


def test_bad_settings_are_clear_errors(en_pipeline_dir):
    nlp = spacy.load(en_pipeline_dir)
    with pytest.raises(ValueError, match="beam_width must be at least 1"):
        nlp.add_pipe(ENTITY_SCORER, config={"beam_width": 0})
    nlp.add_pipe(ENTITY_SCORER, config={"ner": "entities"})
    with pytest.raises(ValueError, match="no component named 'entities'"):
        nlp("Laura Chen visited Paris.")


def test_a_long_doc_is_scored_over_the_ners_segments(scored_nlp, dev_docs):
    """Beyond `max_tokens_per_pass` the beam runs per segment, as the greedy parse does:
    every entity still gets a score, close to what the whole-doc beam gives it. The
    entities are the whole doc's but at a cut, as for the greedy parse alone (weights
    trained on an AVX-512 AMD EPYC carried "Avoid at all costs . The Zentrik" over one)."""
    text = " ".join(doc.text for doc in dev_docs[:60])
    ner = scored_nlp.get_pipe("ner")
    limit = ner.max_tokens_per_pass
    try:
        ner.max_tokens_per_pass = 10**9
        whole = scored_nlp(text)
        ner.max_tokens_per_pass = 200
        segmented = scored_nlp(text)
    finally:
        ner.max_tokens_per_pass = limit
    assert len(segmented) > 600 and len(segmented.ents) > 10
    assert_entities_differ_only_at_cuts(segmented, whole, 200)
    assert all(score is not None for _, score in entity_scores(segmented))
    # Scores of the entities both parses found (all but those at a cut).
    whole_by_entity = {(ent.start, ent.end, ent.label_): score
                       for ent, score in entity_scores(whole)}
    pairs = [(whole_by_entity[key], score) for ent, score in entity_scores(segmented)
             if (key := (ent.start, ent.end, ent.label_)) in whole_by_entity]
    assert len(pairs) >= len(segmented.ents) - 3
    whole_scores = [whole_score for whole_score, _ in pairs]
    segmented_scores = [score for _, score in pairs]
    # The beam has a fixed width, spread over the alternatives of all the text it reads, so
    # its mass over a segment and over the whole doc may differ on a few entities (seen,
    # depending on the trained weights: ≤ 0.06 with spaCy's parser model; with the
    # neighbour window 0.16 on one entity, or 0.46 on one and 0.01-0.05 on three others);
    # ~1e-16 on almost all the others.
    gaps = np.abs(np.array(segmented_scores) - np.array(whole_scores))
    assert np.median(gaps) < 1e-3
    assert np.mean(gaps > 0.01) <= 0.05
