"""Training over length groups gives one call's outputs and gradients, on fewer padded
pieces."""

import copy

import numpy
import pytest
import torch
from spacy.language import Language
from spacy_transformers.data_classes import WordpieceBatch

from spacy_albert.models.architectures import albert_transformer_v2
from spacy_albert.models.encoder import DEFAULT_TRAIN_LENGTH_GROUPS
from spacy_albert.models.length_groups import forward_in_length_groups, length_groups

TEXTS = {
    "en": ["Hi.", "Alice met Bob in Paris.", "A much longer text about Acme Corp. " * 6, "Ok",
           "Shares of Nordvale Energy jumped after an excellent quarter, analysts said."],
    "zh": ["好", "张伟在北京见了李娜。", "华星科技在杭州发布新品，分析师称赞。" * 5, "行"],
}


@pytest.fixture(scope="module", params=["en", "zh"])
def nlp(request: pytest.FixtureRequest) -> Language:
    return request.getfixturevalue(f"{request.param}_nlp")


def without_dropout(layer):
    """A copy of the wrapped encoder whose forward is deterministic in training mode."""
    layer = copy.deepcopy(layer)
    for module in layer.shims[0]._model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
        if hasattr(module, "dropout_prob"):
            module.dropout_prob = 0.0
    return layer


def batch_of(nlp: Language) -> WordpieceBatch:
    transformer = nlp.get_pipe("transformer")
    return transformer.predict([nlp.make_doc(text) for text in TEXTS[nlp.lang]]).wordpieces


def outputs_and_grads(layer, wordpieces: WordpieceBatch, n_groups: int, d_hidden):
    shim_model = layer.shims[0]._model
    shim_model.zero_grad()
    output, backprop = forward_in_length_groups(layer, wordpieces, n_groups)
    backprop(type(output)(last_hidden_state=d_hidden))
    grads = {name: param.grad.clone() for name, param in shim_model.named_parameters()
             if param.grad is not None}
    return output, grads


def test_groups_give_one_calls_outputs_and_gradients(nlp: Language) -> None:
    wordpieces = batch_of(nlp)
    groups = length_groups(wordpieces, 2)
    assert len(groups) == 2
    real = wordpieces.attention_mask.astype(bool)
    layer = without_dropout(nlp.get_pipe("transformer").model.layers[0])
    hidden_size = layer.shims[0]._model.config.hidden_size
    generator = torch.Generator().manual_seed(0)
    d_hidden = torch.randn((*wordpieces.input_ids.shape, hidden_size), generator=generator)
    d_hidden[torch.as_tensor(~real)] = 0  # padding gets no gradient (nothing is aligned to it)
    one, one_grads = outputs_and_grads(layer, wordpieces, 1, d_hidden)
    grouped, grouped_grads = outputs_and_grads(layer, wordpieces, 2, d_hidden)
    assert grouped["last_hidden_state"].shape == one["last_hidden_state"].shape
    numpy.testing.assert_allclose(grouped["last_hidden_state"].detach().numpy()[real],
                                  one["last_hidden_state"].detach().numpy()[real], atol=1e-5)
    numpy.testing.assert_allclose(grouped["pooler_output"].detach().numpy(),
                                  one["pooler_output"].detach().numpy(), atol=1e-5)
    assert set(grouped_grads) == set(one_grads)
    for name, grad in one_grads.items():
        # Summed in another order: equal up to float rounding (gradients reach ~1e3).
        numpy.testing.assert_allclose(grouped_grads[name].numpy(), grad.numpy(), rtol=1e-4,
                                      atol=1e-4, err_msg=name)


def test_groups_are_length_sorted_and_shorter_than_the_batch(nlp: Language) -> None:
    wordpieces = batch_of(nlp)
    lengths = wordpieces.attention_mask.sum(axis=1)
    groups = [rows for rows, _ in length_groups(wordpieces, 3)]
    assert sorted(numpy.concatenate(groups).tolist()) == list(range(len(lengths)))
    assert max(lengths[groups[0]]) <= min(lengths[groups[-1]])
    assert max(lengths[groups[0]]) < wordpieces.input_ids.shape[1]
    assert all(width == max(lengths[rows]) for rows, width in length_groups(wordpieces, 3))
    assert len(length_groups(wordpieces, 1)) == 1


def test_configs_train_in_the_default_length_groups(nlp: Language) -> None:
    assert nlp.get_pipe("transformer").model.attrs["train_length_groups"] == \
        DEFAULT_TRAIN_LENGTH_GROUPS


def test_zero_groups_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="train_length_groups"):
        albert_transformer_v2("unused", lambda docs: [], train_length_groups=0)
