"""The ALBERT encoder layer: spacy-transformers' `TransformerModel` with what ALBERT
needs that it lacks: exact piece↔token alignment (`alignment.py`), spans split until they
fit the position table (`tokenization.py`), bounded memory when predicting long docs, a
clear offline error, and weights stored as safetensors (`loading.py`).
"""

import copy
from typing import Any, Callable, Literal, Optional

import torch
from spacy.tokens import Doc, Span
from spacy_transformers.data_classes import FullTransformerBatch, WordpieceBatch
from spacy_transformers.layers import split_trf_batch
from spacy_transformers.layers.transformer_model import (
    TransformerModel,
    _convert_transformer_inputs,
    _convert_transformer_outputs,
    set_pytorch_transformer,
)
from spacy_transformers.truncate import truncate_oversize_splits
from thinc.api import Model, chain
from thinc.layers.pytorchwrapper import forward as pytorch_forward
from transformers.utils import ModelOutput

from .alignment import get_exact_alignment
from .batch import AlbertTransformerBatch
from .length_groups import forward_in_length_groups
from .loading import AlbertShim, load_hf_albert
from .memory import release_freed_heap
from .piece_pooling import PIECE_LISTENER_ARCH_NAME, PIECE_TOK2VEC_ARCH_NAME
from .precision import inference_autocast, outputs_as_float32
from .tokenization import (
    DEFAULT_TOKENIZE_CHUNK_SPANS,
    tokenize_fitting,
    without_uniform_token_types,
)

ARCH_NAME_V1 = "spacy-albert.AlbertTransformer.v1"
ARCH_NAME = "spacy-albert.AlbertTransformer.v2"
TOK2VEC_ARCH_NAME_V1 = "spacy-albert.AlbertTok2VecTransformer.v1"
TOK2VEC_ARCH_NAME = "spacy-albert.AlbertTok2VecTransformer.v2"
# The tok2vec form each encoder architecture becomes under `replace_listeners`.
TOK2VEC_OF = {ARCH_NAME_V1: TOK2VEC_ARCH_NAME_V1, ARCH_NAME: TOK2VEC_ARCH_NAME}
InferenceDtype = Literal["float32", "bfloat16"]
# Padded pieces per encoder call at prediction time. All strided spans of a doc go
# through together, so without a cap one long doc's attention activations grow with its
# length (a 1M-character doc needed >2.5 GiB even with the tiny model). A call's
# activations added to a 1M-character Chinese doc's peak: ~130 MiB at 32,768 pieces, 33
# at 8,192, 10 at 4,096. Short texts ran as fast at 4,096 as at 8,192 (6-layer 384-wide
# encoder, batches of 128: 135-146 docs/s either way); on a GPU a larger cap may pay.
DEFAULT_INFERENCE_MAX_PIECES = 4096
# A batch that needs at least this many encoder calls (a long doc) gives its freed heap
# back to the OS before, between and after the calls: on a 1M-character doc that keeps
# the peak at one call's activations (7 MiB less at 4,096 pieces, 26 at 8,192). On a
# batch of short texts (a few calls) the trims and the page faults after them cost ~10 %
# of throughput and save nothing.
LONG_BATCH_CALLS = 16
# Encoder calls per training batch, over rows sorted by length (see `length_groups.py`).
# On a joint batch of 32 CoNLL + 32 SST-2 sentences, 4 calls pad 2,187 pieces a step where
# 2 padded 2,826 (1,637 real; bench/results/training-profile*.json). Calls of 16 rows still
# fill the matmuls.
DEFAULT_TRAIN_LENGTH_GROUPS = 4
# Attrs that come from the config, not from the saved weights (see `from_bytes`).
CONFIG_ATTRS = ("inference_dtype", "inference_max_pieces", "tokenize_chunk_spans",
                "train_length_groups")


class AlbertTransformerModel(TransformerModel):
    """An ALBERT (or any HF encoder) model whose forward pass aligns pieces exactly."""

    def __init__(
        self,
        name: str,
        get_spans: Callable[[list[Doc]], list[list[Span]]],
        tokenizer_config: dict[str, Any] = None,
        transformer_config: dict[str, Any] = None,
        mixed_precision: bool = False,
        grad_scaler_config: dict[str, Any] = None,
        inference_dtype: str = "float32",
        inference_max_pieces: int = DEFAULT_INFERENCE_MAX_PIECES,
        tokenize_chunk_spans: int = DEFAULT_TOKENIZE_CHUNK_SPANS,
        train_length_groups: int = DEFAULT_TRAIN_LENGTH_GROUPS,
    ):
        if grad_scaler_config is None:
            grad_scaler_config = {}
        if transformer_config is None:
            transformer_config = {}
        if tokenizer_config is None:
            tokenizer_config = {}
        shim = AlbertShim(
            name,
            dict(tokenizer_config),
            dict(transformer_config),
            mixed_precision=mixed_precision,
            grad_scaler_config=dict(grad_scaler_config),
        )
        wrapper = Model(
            "hf-pytorch",
            pytorch_forward,
            attrs={
                "convert_inputs": _convert_transformer_inputs,
                "convert_outputs": _convert_transformer_outputs,
            },
            shims=[shim],
            dims={"nI": None, "nO": None},
        )
        Model.__init__(
            self,
            "albert_transformer",
            albert_forward,
            init=albert_init,
            layers=[wrapper],
            dims={"nO": None},
            attrs={
                "get_spans": get_spans,
                "name": name,
                "set_transformer": set_pytorch_transformer,
                "has_transformer": False,
                "flush_cache_chance": 0.0,
                "replace_listener": replace_listener,
                "replace_listener_cfg": replace_listener_cfg,
                "inference_dtype": inference_dtype,
                "inference_max_pieces": inference_max_pieces,
                "tokenize_chunk_spans": tokenize_chunk_spans,
                "train_length_groups": train_length_groups,
            },
        )

    def copy(self) -> "AlbertTransformerModel":
        """Deep-copy the model, keeping this class (upstream's copy returns its own)."""
        copied = AlbertTransformerModel(
            self.attrs["name"],
            self.attrs["get_spans"],
            **{key: self.attrs[key] for key in CONFIG_ATTRS},
        )
        copied.dims = copy.deepcopy(self._dims)
        copied.layers[0] = copy.deepcopy(self.layers[0])
        copied.attrs["has_transformer"] = self.attrs["has_transformer"]
        return copied

    def from_bytes(self, bytes_data: bytes) -> "AlbertTransformerModel":
        """Load weights and attrs, keeping the config's run-time settings.

        thinc restores every attr saved with the model, which would pin the precision
        (and chunk sizes) a pipeline was saved with: `spacy.load(path, config={...
        "inference_dtype": "bfloat16"})` must switch it.
        """
        from_config = {key: self.attrs[key] for key in CONFIG_ATTRS}
        super().from_bytes(bytes_data)
        self.attrs.update(from_config)
        return self


def albert_init(model: AlbertTransformerModel, X: Any = None, Y: Any = None) -> None:
    """Load the named checkpoint (local directory first) and set the output width."""
    if model.attrs["has_transformer"]:
        return
    hf_model = load_hf_albert(
        model.attrs["name"], model._init_tokenizer_config, model._init_transformer_config
    )
    model.attrs["set_transformer"](model, hf_model)


def max_pieces(model: AlbertTransformerModel) -> int:
    """The longest piece sequence the tokenizer and the position table both accept."""
    positions = getattr(model.transformer.config, "max_position_embeddings", None) or 512
    return int(min(model.tokenizer.model_max_length, positions))


def albert_forward(
    model: AlbertTransformerModel, docs: list[Doc], is_train: bool
) -> tuple[FullTransformerBatch, Callable]:
    """Run the encoder once over strided spans of the docs, aligned exactly to tokens."""
    if not any(len(doc) for doc in docs):
        return FullTransformerBatch.empty(len(docs)), lambda d_output: docs
    nested_spans = model.attrs["get_spans"](docs)
    nested_spans, encoding = tokenize_fitting(
        model.tokenizer, nested_spans, max_pieces(model), model.attrs["tokenize_chunk_spans"]
    )
    flat_spans = [span for doc_spans in nested_spans for span in doc_spans]
    align = get_exact_alignment(flat_spans, encoding["offset_mapping"])
    wordpieces = WordpieceBatch.from_batch_encoding(without_uniform_token_types(encoding))
    del encoding
    wordpieces, align = truncate_oversize_splits(wordpieces, align, max_pieces(model))
    max_call_pieces = model.attrs["inference_max_pieces"]
    long_batch = wordpieces.input_ids.size >= LONG_BATCH_CALLS * max_call_pieces
    if long_batch and not is_train:
        release_freed_heap()
    with inference_autocast(model.attrs["inference_dtype"], enabled=not is_train):
        if is_train:
            # One call where rows are left-padded, or the model has no such setting (the
            # ONNX encoder, which refuses training with its own message).
            right_padded = getattr(model.tokenizer, "padding_side", "right") == "right"
            n_groups = model.attrs.get("train_length_groups", 1) if right_padded else 1
            model_output, backprop_tensors = forward_in_length_groups(
                model.layers[0], wordpieces, n_groups
            )
        else:
            model_output = predict_in_chunks(
                model.layers[0], wordpieces, max_call_pieces, release_between_calls=long_batch
            )
    if not is_train:
        model_output = outputs_as_float32(model_output)
        if long_batch:
            release_freed_heap()
    output = AlbertTransformerBatch(
        spans=nested_spans, wordpieces=wordpieces, model_output=model_output, align=align
    )

    def backprop(d_output: FullTransformerBatch) -> list[Doc]:
        if not is_train:
            raise ValueError("Cannot backprop through a prediction-time forward pass.")
        backprop_tensors(d_output.model_output)
        return docs

    return output, backprop


def predict_in_chunks(
    layer: Model, wordpieces: WordpieceBatch, max_items: int, release_between_calls: bool = False
) -> ModelOutput:
    """Run the encoder over the rows a few at a time, at most `max_items` padded pieces
    per call, and gather the outputs into one preallocated `ModelOutput`.

    layer (Model): The wrapped HF encoder (`model.layers[0]`).
    wordpieces (WordpieceBatch): The padded rows of all spans.
    max_items (int): Upper bound on rows * padded length per call.
    release_between_calls (bool): Give the freed heap back to the OS after each call.
    RETURNS (ModelOutput): The same fields as one call over all rows would give.
    """
    n_rows, row_len = wordpieces.input_ids.shape
    step = max(1, max_items // max(row_len, 1))
    if n_rows <= step:
        return layer.predict(wordpieces)
    merged: Optional[dict[str, Any]] = None
    output_type: Any = None
    for start in range(0, n_rows, step):
        output = layer.predict(wordpieces[start : start + step])
        if merged is None:
            output_type = type(output)
            merged = {key: _alloc_rows(value, n_rows) for key, value in output.items()}
        for key, value in output.items():
            _copy_rows(merged[key], value, start)
        del output
        if release_between_calls:
            release_freed_heap()
    assert merged is not None and output_type is not None
    return output_type(**merged)


def _alloc_rows(value: Any, n_rows: int) -> Any:
    if isinstance(value, torch.Tensor):
        return value.new_empty((n_rows, *value.shape[1:]))
    if isinstance(value, tuple):
        return tuple(_alloc_rows(item, n_rows) for item in value)
    return value


def _copy_rows(target: Any, value: Any, start: int) -> None:
    if isinstance(value, torch.Tensor):
        target[start : start + value.shape[0]] = value
    elif isinstance(value, tuple):
        for target_item, item in zip(target, value):
            _copy_rows(target_item, item, start)


def replace_listener(model: Model) -> Model:
    """What a listener becomes when a head gets its own copy of the encoder."""
    return chain(model, split_trf_batch())


def replace_listener_cfg(tok2vec_cfg: dict[str, Any], listener_cfg: dict[str, Any]) -> dict:
    """The config block of a head's own encoder copy (see `Language.replace_listeners`)."""
    result = dict(tok2vec_cfg)
    architecture = tok2vec_cfg.get("@architectures")
    listener = str(listener_cfg.get("@architectures"))
    if architecture not in TOK2VEC_OF:
        return result
    if listener == PIECE_LISTENER_ARCH_NAME:
        result["@architectures"] = PIECE_TOK2VEC_ARCH_NAME
        keys: tuple[str, ...] = ("grad_factor",)
    elif "TransformerListener" in listener:
        result["@architectures"] = TOK2VEC_OF[architecture]
        keys = ("pooling", "grad_factor")
    else:
        return result
    result.update({key: listener_cfg[key] for key in keys if key in listener_cfg})
    return result
