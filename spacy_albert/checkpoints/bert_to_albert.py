"""A BERT encoder as an ALBERT one, exactly.

ALBERT generalises BERT with two savings: a narrower embedding projected up to the hidden
width, and layers shared across groups. With `embedding_size = hidden_size`, an identity
projection and one group (of one layer) per BERT layer, an `AlbertModel` computes the same
function as the `BertModel` it was made from: the embeddings, attention, feed-forward and
layer-norm blocks are the same modules under other names, applied in the same order.
"""

import torch
from transformers import AlbertConfig, AlbertModel, BertConfig

# BERT layer weights (under `encoder.layer.{i}.`) -> ALBERT layer weights (under
# `encoder.albert_layer_groups.{i}.albert_layers.0.`), each with `.weight` and `.bias`.
LAYER_WEIGHTS = {
    "attention.self.query": "attention.query",
    "attention.self.key": "attention.key",
    "attention.self.value": "attention.value",
    "attention.output.dense": "attention.dense",
    "attention.output.LayerNorm": "attention.LayerNorm",
    "intermediate.dense": "ffn",
    "output.dense": "ffn_output",
    "output.LayerNorm": "full_layer_layer_norm",
}
EMBEDDING_WEIGHTS = (
    "embeddings.word_embeddings.weight",
    "embeddings.position_embeddings.weight",
    "embeddings.token_type_embeddings.weight",
    "embeddings.LayerNorm.weight",
    "embeddings.LayerNorm.bias",
)
POOLER_WEIGHTS = {"pooler.dense.weight": "pooler.weight", "pooler.dense.bias": "pooler.bias"}
# Fixed so a checkpoint without pooler weights converts to the same bytes every time.
POOLER_INIT_SEED = 0


def albert_config_from_bert(
    bert: BertConfig, cls_token_id: int, sep_token_id: int, tokenizer_class: str
) -> AlbertConfig:
    """The AlbertConfig that computes what `bert` computes.

    bert (BertConfig): The source encoder's config (absolute positions, no cross-attention).
    cls_token_id (int): Id of `[CLS]` in the source vocabulary (ALBERT's bos).
    sep_token_id (int): Id of `[SEP]` in the source vocabulary (ALBERT's eos).
    tokenizer_class (str): Recorded so AutoTokenizer picks the source's tokenizer.
    RETURNS (AlbertConfig): One group of one layer per BERT layer, no factorised embedding.
    """
    return AlbertConfig(
        vocab_size=bert.vocab_size,
        embedding_size=bert.hidden_size,
        hidden_size=bert.hidden_size,
        num_hidden_layers=bert.num_hidden_layers,
        num_hidden_groups=bert.num_hidden_layers,
        inner_group_num=1,
        num_attention_heads=bert.num_attention_heads,
        intermediate_size=bert.intermediate_size,
        hidden_act=bert.hidden_act,
        hidden_dropout_prob=bert.hidden_dropout_prob,
        attention_probs_dropout_prob=bert.attention_probs_dropout_prob,
        max_position_embeddings=bert.max_position_embeddings,
        type_vocab_size=bert.type_vocab_size,
        initializer_range=bert.initializer_range,
        layer_norm_eps=bert.layer_norm_eps,
        position_embedding_type="absolute",
        pad_token_id=bert.pad_token_id,
        bos_token_id=cls_token_id,
        eos_token_id=sep_token_id,
        tokenizer_class=tokenizer_class,
    )


def albert_state_from_bert(
    bert_state: dict[str, torch.Tensor], num_layers: int, hidden_size: int
) -> dict[str, torch.Tensor]:
    """Rename a BertModel state dict to AlbertModel's, adding the identity projection.

    bert_state (Dict[str, Tensor]): A BertModel's weights (no `bert.` prefix); the pooler
        may be absent.
    num_layers (int): Number of BERT layers, each becoming one ALBERT group.
    hidden_size (int): Width of the identity `embedding_hidden_mapping_in`.
    RETURNS (Dict[str, Tensor]): The AlbertModel weights.
    """
    state = {name: bert_state[name] for name in EMBEDDING_WEIGHTS}
    state.update(
        {albert: bert_state[bert] for bert, albert in POOLER_WEIGHTS.items() if bert in bert_state}
    )
    state["encoder.embedding_hidden_mapping_in.weight"] = torch.eye(hidden_size)
    state["encoder.embedding_hidden_mapping_in.bias"] = torch.zeros(hidden_size)
    for index in range(num_layers):
        source = f"encoder.layer.{index}."
        target = f"encoder.albert_layer_groups.{index}.albert_layers.0."
        for bert_name, albert_name in LAYER_WEIGHTS.items():
            for kind in ("weight", "bias"):
                state[f"{target}{albert_name}.{kind}"] = bert_state[f"{source}{bert_name}.{kind}"]
    return state


def albert_from_bert(
    bert: BertConfig,
    bert_state: dict[str, torch.Tensor],
    cls_token_id: int,
    sep_token_id: int,
    tokenizer_class: str,
) -> AlbertModel:
    """An AlbertModel with the same function as the BERT encoder `bert` + `bert_state`.

    bert (BertConfig): The source config.
    bert_state (Dict[str, Tensor]): The source weights, shapes checked against `bert`.
    cls_token_id (int): Id of `[CLS]` in the source vocabulary.
    sep_token_id (int): Id of `[SEP]` in the source vocabulary.
    tokenizer_class (str): The tokenizer class recorded in the config.
    RETURNS (AlbertModel): The converted encoder in float32. Every weight is copied; only a
        pooler the source lacks (the pipeline does not use it) keeps a seeded initialisation.
    """
    config = albert_config_from_bert(bert, cls_token_id, sep_token_id, tokenizer_class)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(POOLER_INIT_SEED)
        albert = AlbertModel(config)
    state = albert_state_from_bert(bert_state, bert.num_hidden_layers, bert.hidden_size)
    missing, unexpected = albert.load_state_dict(state, strict=False)
    if unexpected or set(missing) - set(POOLER_WEIGHTS.values()):
        raise ValueError(f"BERT weights left ALBERT's unfilled: {missing}, unused: {unexpected}")
    return albert.eval()
