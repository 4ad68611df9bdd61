"""Layer-wise learning-rate decay: every parameter of ALBERT models lands at its depth."""

import pytest
from transformers import AlbertConfig, AlbertForSequenceClassification, AlbertModel

from spacy_albert.models.layer_rates import layer_lr_scale, parameter_depth


def tiny_config(n_layers: int, n_groups: int) -> AlbertConfig:
    return AlbertConfig(vocab_size=30, embedding_size=8, hidden_size=16, num_hidden_layers=n_layers,
                        num_hidden_groups=n_groups, num_attention_heads=2, intermediate_size=32)


@pytest.mark.parametrize("n_groups", [1, 3])
def test_every_parameter_of_an_albert_model_gets_its_depth(n_groups):
    model = AlbertModel(tiny_config(3, n_groups))
    depths = {name: parameter_depth(name, n_groups) for name, _ in model.named_parameters()}
    for name, depth in depths.items():
        if name.startswith(("embeddings.", "encoder.embedding_hidden_mapping_in.")):
            assert depth == 0, name
        elif name.startswith("pooler."):
            assert depth == n_groups + 1, name
        else:
            group = int(name.split("albert_layer_groups.")[1].split(".")[0])
            assert depth == group + 1, name
    assert set(depths.values()) == set(range(n_groups + 2))


def test_a_classifier_sits_above_the_groups_and_the_prefix_does_not_matter():
    model = AlbertForSequenceClassification(tiny_config(2, 2))
    depths = {name: parameter_depth(name, 2) for name, _ in model.named_parameters()}
    assert depths["classifier.weight"] == depths["albert.pooler.weight"] == 3
    assert depths["albert.embeddings.word_embeddings.weight"] == 0
    assert depths["albert.encoder.albert_layer_groups.1.albert_layers.0.ffn.weight"] == 2


def test_scales_decay_geometrically_downwards_and_vanish_at_one():
    name = "encoder.albert_layer_groups.{}.albert_layers.0.ffn.weight"
    assert layer_lr_scale("pooler.weight", 6, 0.5) == 1.0
    assert layer_lr_scale(name.format(5), 6, 0.5) == 0.5
    assert layer_lr_scale(name.format(0), 6, 0.5) == 0.5 ** 6
    assert layer_lr_scale("embeddings.word_embeddings.weight", 6, 0.5) == 0.5 ** 7
    assert layer_lr_scale("embeddings.word_embeddings.weight", 6, 1.0) == 1.0
