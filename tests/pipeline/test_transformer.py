"""The trained joint pipeline behaves like any spaCy pipeline (issue: core plugin)."""

import shutil

import pytest
import spacy
import srsly
from spacy.util import load_model_from_config
from thinc.api import Config

from spacy_albert.models.encoder import AlbertTransformerModel
from spacy_albert.models.loading import ModelNotFoundError

EN_TEXTS = [
    "Shares of Nordwind Energy fell after CEO Laura Chen called the quarter a disappointment.",
    "Fans in Lisbon loved the excellent match, and coach Daniel Ortiz praised the team.",
    "The new phone from Acme is a joy to use.",
    "Terrible service, a complete waste of money.",
]


def assert_well_formed(doc, exclusive_labels=("POSITIVE", "NEGATIVE")):
    assert set(exclusive_labels) <= set(doc.cats)
    assert sum(doc.cats[label] for label in exclusive_labels) == pytest.approx(1.0, abs=1e-4)
    for ent in doc.ents:
        assert ent.start_char == doc[ent.start].idx
        assert ent.end_char == doc[ent.end - 1].idx + len(doc[ent.end - 1])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_training_scores_are_well_above_chance(lang, request):
    pipeline_dir = request.getfixturevalue(f"{lang}_pipeline_dir")
    meta = srsly.read_json(pipeline_dir / "meta.json")
    scores = meta["performance"]
    # Chance: ents_f ~ 0, cats macro-F ~ 0.5 (two balanced classes).
    assert scores["ents_f"] > 0.5, scores
    assert scores["cats_score"] > 0.75, scores
    assert meta["lang"] == lang


def test_nlp_returns_cats_summing_to_one_and_entities_on_tokens(en_nlp):
    for doc in en_nlp.pipe(EN_TEXTS):
        assert_well_formed(doc)
    doc = en_nlp(EN_TEXTS[0])
    assert {ent.label_ for ent in doc.ents} <= {"PER", "ORG", "LOC"}
    assert doc.ents, "the trained pipeline finds no entity in a training-like sentence"


def test_zh_pipeline_tokenizes_chars_and_predicts(zh_nlp):
    text = "华星科技在杭州发布了新手机，王建国表示非常满意。"
    doc = zh_nlp(text)
    assert [t.text for t in doc] == list(text)
    assert_well_formed(doc)
    assert zh_nlp.config["nlp"]["tokenizer"]["@tokenizers"] == (
        "spacy-albert.LanguageDefaultTokenizer.v1"
    )


def test_encoder_runs_once_per_batch_for_all_heads(en_nlp):
    transformer = en_nlp.get_pipe("transformer").model
    assert isinstance(transformer, AlbertTransformerModel)
    calls = []
    handle = transformer.transformer.register_forward_hook(lambda *args: calls.append(1))
    try:
        en_nlp(EN_TEXTS[0])
        assert len(calls) == 1
        calls.clear()
        list(en_nlp.pipe(EN_TEXTS * 4, batch_size=16))
        assert len(calls) == 1
    finally:
        handle.remove()


def test_pipe_batch_size_and_n_process_match_single_calls(en_nlp):
    texts = EN_TEXTS * 3
    expected = [(doc.cats, [(e.start, e.end, e.label_) for e in doc.ents])
                for doc in map(en_nlp, texts)]
    for kwargs in ({"batch_size": 2}, {"batch_size": 5, "n_process": 2}):
        got = [(doc.cats, [(e.start, e.end, e.label_) for e in doc.ents])
               for doc in en_nlp.pipe(texts, **kwargs)]
        assert [ents for _, ents in got] == [ents for _, ents in expected]
        for (cats, _), (exp_cats, _) in zip(got, expected):
            assert cats == pytest.approx(exp_cats, abs=1e-5)


def test_loads_offline_with_source_model_dir_removed(en_pipeline_dir, en_model_dir, tmp_path,
                                                     monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    expected = spacy.load(en_pipeline_dir)(EN_TEXTS[1])
    copy = tmp_path / "pipeline"
    shutil.copytree(en_pipeline_dir, copy)
    moved = tmp_path / "moved-away"
    shutil.move(str(en_model_dir), moved)
    try:
        nlp = spacy.load(copy)
        doc = nlp(EN_TEXTS[1])
    finally:
        shutil.move(str(moved), en_model_dir)
    assert doc.cats == pytest.approx(expected.cats, abs=1e-6)
    assert [(e.text, e.label_) for e in doc.ents] == [(e.text, e.label_) for e in expected.ents]


def test_sourcing_with_replace_listeners_into_a_blank_pipeline(en_pipeline_dir, en_nlp, tmp_path):
    config = Config().from_str(f"""
[nlp]
lang = "en"
pipeline = ["ner", "textcat"]

[components]

[components.ner]
source = "{en_pipeline_dir}"
replace_listeners = ["model.tok2vec"]

[components.textcat]
source = "{en_pipeline_dir}"
replace_listeners = ["model.tok2vec"]
""")
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    assert nlp.pipe_names == ["ner", "textcat"]
    reference = en_nlp(EN_TEXTS[0])
    doc = nlp(EN_TEXTS[0])
    assert doc.cats == pytest.approx(reference.cats, abs=1e-5)
    assert [(e.start, e.end, e.label_) for e in doc.ents] == [
        (e.start, e.end, e.label_) for e in reference.ents
    ]
    nlp.to_disk(tmp_path / "sourced")
    reloaded = spacy.load(tmp_path / "sourced")
    again = reloaded(EN_TEXTS[0])
    assert again.cats == pytest.approx(reference.cats, abs=1e-5)
    assert reloaded.config["components"]["ner"]["model"]["tok2vec"]["@architectures"] == (
        "spacy-albert.AlbertTok2VecTransformer.v2"
    )


def test_long_window_is_split_to_fit_the_position_table(en_nlp):
    # 120 long rare "words" in one 128-token window: far more than 512 pieces.
    words = ["Xqzvbnmwrtkplhgfdsjcv" + str(i) for i in range(120)]
    doc = en_nlp(" ".join(words))
    trf = doc._.trf_data
    assert trf.wordpieces.input_ids.shape[1] <= 512
    assert all(length <= 512 for length in trf.wordpieces.lengths)
    assert len(trf.wordpieces.lengths) > 1  # the window was split
    assert min(trf.align.lengths.tolist()) >= 1  # every token kept some pieces
    assert_well_formed(doc)


@pytest.mark.parametrize("text", ["", " ", "\n\t  \n"])
def test_empty_and_whitespace_docs(en_nlp, text):
    doc = en_nlp(text)
    assert_well_formed(doc)
    assert not doc.ents


def test_unresolvable_model_name_gives_one_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    nlp = spacy.blank("en")
    nlp.add_pipe("albert_transformer", config={"model": {"name": "no-such-albert-xyz"}})
    with pytest.raises(ModelNotFoundError, match="init-model") as info:
        nlp.initialize()
    assert "no-such-albert-xyz" in str(info.value)


def one_update(pipeline_dir, learn_rate_scale, layer_lr_decay=1.0):
    """Encoder and ner weights before and after one seeded update at this scale."""
    import torch
    from spacy.training import Example
    from thinc.api import Adam

    nlp = spacy.load(pipeline_dir)
    nlp.get_pipe("transformer").learn_rate_scale = learn_rate_scale
    nlp.get_pipe("transformer").layer_lr_decay = layer_lr_decay
    text = EN_TEXTS[1]
    reference = nlp.make_doc(text)
    reference.ents = [reference.char_span(text.index("Lisbon"), text.index("Lisbon") + 6, "LOC")]
    reference.cats = {"POSITIVE": 1.0, "NEGATIVE": 0.0}
    encoder = next(node for node in nlp.get_pipe("transformer").model.walk()
                   if node.shims).shims[0]._model
    ner = nlp.get_pipe("ner").model

    def weights():
        return ({name: p.detach().clone() for name, p in encoder.named_parameters()},
                [ner.get_ref("lower").get_param("W").copy()])

    before = weights()
    torch.manual_seed(0)  # the encoder's own dropout
    optimizer = Adam(0.001)
    nlp.update([Example(nlp.make_doc(text), reference)], sgd=optimizer, drop=0.0)
    # spaCy steps each component right after its own update, so the encoder's gradient,
    # which the heads' updates send back, is applied at the next update's step: take it now.
    nlp.get_pipe("transformer").finish_update(optimizer)
    after = weights()
    return ({name: after[0][name] - before[0][name] for name in before[0]},
            [a - b for a, b in zip(after[1], before[1])])


def test_learn_rate_scale_scales_the_encoder_steps_only(en_pipeline_dir):
    import numpy

    encoder_full, ner_full = one_update(en_pipeline_dir, 1.0)
    encoder_scaled, ner_scaled = one_update(en_pipeline_dir, 0.25)
    assert_encoder_steps_scaled(encoder_full, encoder_scaled, lambda name: 0.25, atol=1e-9)
    for full, scaled in zip(ner_full, ner_scaled):
        numpy.testing.assert_allclose(scaled, full, rtol=1e-5, atol=1e-8)


def assert_encoder_steps_scaled(full, scaled, scale_of, atol):
    """Adam's first step is linear in its rate: each moved weight's step is scale times,
    within 1e-4 of the step plus `atol`."""
    moved = [name for name, delta in full.items() if delta.abs().max() > 0]
    assert moved, "the update left the encoder as it was"
    for name in moved:
        assert (scaled[name] - scale_of(name) * full[name]).abs().max() <= (
            1e-4 * full[name].abs().max() + atol), name


def test_layer_lr_decay_scales_each_layer_groups_steps(en_pipeline_dir):
    from spacy_albert.models.layer_rates import layer_lr_scale, parameter_depth

    nlp = spacy.load(en_pipeline_dir)
    n_groups = nlp.get_pipe("transformer").model.transformer.config.num_hidden_groups
    encoder_full, _ = one_update(en_pipeline_dir, 0.5)
    encoder_decayed, _ = one_update(en_pipeline_dir, 0.5, layer_lr_decay=0.5)
    assert {parameter_depth(name, n_groups) for name in encoder_full} >= {0, 1}
    # Weights near 1 (layer norms) step by a few 1e-4, where float32 rounds to 6e-8: the
    # steps at two rates differ by up to 2e-7 from their ratio.
    assert_encoder_steps_scaled(encoder_full, encoder_decayed,
                                lambda name: layer_lr_scale(name, n_groups, 0.5), atol=2e-7)


def test_learn_rate_scale_is_a_config_setting(en_pipeline_dir):
    nlp = spacy.load(en_pipeline_dir)
    assert nlp.get_pipe("transformer").learn_rate_scale == nlp.config["components"][
        "transformer"]["learn_rate_scale"]
    with pytest.raises(ValueError, match="learn_rate_scale must be > 0"):
        spacy.load(en_pipeline_dir, config={"components": {"transformer": {
            "learn_rate_scale": 0.0}}})
    assert nlp.get_pipe("transformer").layer_lr_decay == 1.0
    with pytest.raises(ValueError, match=r"layer_lr_decay must be in \(0, 1\]"):
        spacy.load(en_pipeline_dir, config={"components": {"transformer": {
            "layer_lr_decay": 1.5}}})
