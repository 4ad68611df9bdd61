"""The piece listener: every piece the encoder read ([CLS] and [SEP] included, padding not)
as a doc's rows, window by window, and the gradient put back at those pieces."""

import numpy
import pytest
from spacy.util import load_config, load_model_from_config
from transformers import AutoTokenizer

from spacy_albert.models.architectures import TEXTCAT_ARCH_NAME
from spacy_albert.models.encoder import ARCH_NAME, TOK2VEC_ARCH_NAME, replace_listener_cfg
from spacy_albert.models.piece_pooling import PIECE_TOK2VEC_ARCH_NAME, trfs2pieces
from spacy_albert.pipeline.segments import pooled_classifier
from tests.pipeline.test_textcat import CONFIGS, PIECE_LISTENER

TEXTS = ["", "Great fun in Lisbon.", " ".join(["An awful mess, sadly, in Porto."] * 6)]


@pytest.fixture(scope="module")
def piece_nlp(en_model_dir):
    """configs/textcat.cfg over the tiny encoder, its head on the piece listener, in windows
    of 16 tokens (stride 12) so that the long text is read in several."""
    config = load_config(CONFIGS / "textcat.cfg")
    config["paths"]["transformer"] = str(en_model_dir)
    config["components"]["transformer"]["model"]["get_spans"].update(window=16, stride=12)
    config["components"]["textcat"]["model"]["@architectures"] = TEXTCAT_ARCH_NAME
    config["components"]["textcat"]["model"]["tok2vec"] = PIECE_LISTENER
    nlp = load_model_from_config(config.interpolate(), auto_fill=True)
    nlp.get_pipe("textcat").add_label("POSITIVE")
    nlp.get_pipe("textcat").add_label("NEGATIVE")
    nlp.initialize()
    return nlp


def test_rows_are_each_windows_pieces_cls_and_sep_included(piece_nlp, en_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(en_model_dir)
    docs = list(piece_nlp.pipe(TEXTS))
    tok2vec = piece_nlp.get_pipe("textcat").model.get_ref("tok2vec")
    rows = tok2vec.predict(docs)
    assert rows[0].shape == (0, rows[1].shape[1])
    assert docs[2]._.trf_data.wordpieces.input_ids.shape[0] > 1  # several windows
    for doc, doc_rows in zip(docs[1:], rows[1:]):
        data = doc._.trf_data
        lengths = data.wordpieces.lengths
        states = data.model_output.last_hidden_state
        expected = numpy.concatenate([states[row, :n] for row, n in enumerate(lengths)])
        numpy.testing.assert_array_equal(doc_rows, expected)
        ids = data.wordpieces.input_ids
        assert all(ids[row, 0] == tokenizer.cls_token_id and ids[row, n - 1] ==
                   tokenizer.sep_token_id for row, n in enumerate(lengths))
        assert len(doc_rows) > len(doc)  # not one row per token


def test_gradient_goes_to_the_pieces_read_scaled_and_none_to_padding(piece_nlp):
    datas = [doc._.trf_data for doc in piece_nlp.pipe(TEXTS)]
    layer = trfs2pieces(grad_factor=0.5)
    rows, backprop = layer(datas, is_train=True)
    rng = numpy.random.default_rng(0)
    d_rows = [rng.normal(size=X.shape).astype("f") for X in rows]
    d_datas = backprop(d_rows)
    # As `trfs2arrays`: no entry for the empty doc, which the encoder gave no output.
    assert len(d_datas) == 2
    for data, d_data, d_doc in zip(datas[1:], d_datas, d_rows[1:]):
        d_states = d_data.model_output.last_hidden_state
        assert d_states.shape == data.model_output.last_hidden_state.shape
        start = 0
        for row, n in enumerate(data.wordpieces.lengths):
            numpy.testing.assert_allclose(d_states[row, :n], 0.5 * d_doc[start:start + n])
            assert not d_states[row, n:].any()
            start += n
        assert start == len(d_doc)


def test_long_docs_are_scored_whole(piece_nlp):
    """A token range does not slice the windows' pieces, so segments would change the
    scores: the head reads a long doc whole."""
    textcat = piece_nlp.get_pipe("textcat")
    assert pooled_classifier(textcat.model) is None
    whole = piece_nlp(TEXTS[2]).cats
    limit = textcat.max_tokens_per_pass
    textcat.max_tokens_per_pass = 5
    try:
        assert piece_nlp(TEXTS[2]).cats == pytest.approx(whole, abs=1e-6)
    finally:
        textcat.max_tokens_per_pass = limit


def test_replace_listeners_gives_the_piece_listener_its_own_piece_encoder():
    encoder = {"@architectures": ARCH_NAME, "name": "m"}
    token_listener = {"@architectures": "spacy-transformers.TransformerListener.v1",
                      "grad_factor": 2.0, "pooling": {"@layers": "reduce_mean.v1"}}
    assert replace_listener_cfg(encoder, {**PIECE_LISTENER, "grad_factor": 2.0}) == {
        "@architectures": PIECE_TOK2VEC_ARCH_NAME, "name": "m", "grad_factor": 2.0}
    assert replace_listener_cfg(encoder, token_listener) == {
        "@architectures": TOK2VEC_ARCH_NAME, "name": "m", "grad_factor": 2.0,
        "pooling": {"@layers": "reduce_mean.v1"}}
