"""Registered model builders: the ALBERT encoder layer and its Tok2Vec form.

`AlbertTransformerModel` is spacy-transformers' `TransformerModel` with what ALBERT
needs that it lacks: exact piece↔token alignment (`alignment.py`), spans split until
they fit the position table, a clear offline error, and weights stored as safetensors.
"""

import copy
from typing import Any, Callable, Optional

import numpy
import torch
from spacy.tokens import Doc, Span
from spacy.util import registry
from spacy_transformers.data_classes import FullTransformerBatch, WordpieceBatch
from spacy_transformers.layers import split_trf_batch, trfs2arrays
from spacy_transformers.layers.transformer_model import (
    TransformerModel,
    _convert_transformer_inputs,
    _convert_transformer_outputs,
    huggingface_tokenize,
    set_pytorch_transformer,
)
from spacy_transformers.truncate import truncate_oversize_splits
from thinc.api import Model, chain
from thinc.layers.pytorchwrapper import forward as pytorch_forward
from thinc.types import Floats2d, Ragged
from transformers.utils import ModelOutput

from .alignment import get_exact_alignment
from .loading import AlbertShim, load_hf_albert
from .precision import inference_autocast, outputs_as_float32

ARCH_NAME = "spacy-albert.AlbertTransformer.v1"
TOK2VEC_ARCH_NAME = "spacy-albert.AlbertTok2VecTransformer.v1"
# Padded pieces per encoder call at prediction time. All strided spans of a doc go
# through together, so without a cap one long doc's attention activations grow with its
# length (a 1M-character doc needed >2.5 GiB even with the tiny model).
INFERENCE_MAX_PIECES = 32768
# Span texts per tokenizer call (see `tokenize_in_chunks`).
TOKENIZE_CHUNK_SPANS = 256


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
            },
        )

    def copy(self) -> "AlbertTransformerModel":
        """Deep-copy the model, keeping this class (upstream's copy returns its own)."""
        copied = AlbertTransformerModel(
            self.attrs["name"],
            self.attrs["get_spans"],
            inference_dtype=self.attrs["inference_dtype"],
        )
        copied.dims = copy.deepcopy(self._dims)
        copied.layers[0] = copy.deepcopy(self.layers[0])
        copied.attrs["has_transformer"] = self.attrs["has_transformer"]
        return copied

    def from_bytes(self, bytes_data: bytes) -> "AlbertTransformerModel":
        """Load weights and attrs, keeping the config's `inference_dtype`.

        thinc restores every attr saved with the model, which would pin the precision a
        pipeline was saved with: `spacy.load(path, config={... "inference_dtype":
        "bfloat16"})` must switch it.
        """
        inference_dtype = self.attrs["inference_dtype"]
        super().from_bytes(bytes_data)
        self.attrs["inference_dtype"] = inference_dtype
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


def tokenize_fitting(
    tokenizer: Any, nested_spans: list[list[Span]], max_length: int
) -> tuple[list[list[Span]], Any]:
    """Tokenize the spans, halving any multi-token span whose pieces exceed max_length.

    Strided windows count spaCy tokens, not pieces, so a window of URLs or emoji can
    outgrow the position table; halving keeps every token represented. A single token
    longer than the table is left to `truncate_oversize_splits`.
    """
    while True:
        flat = [span for doc_spans in nested_spans for span in doc_spans]
        encoding = tokenize_in_chunks(tokenizer, [span.text for span in flat])
        lengths = encoding["attention_mask"].sum(axis=1)
        oversize = {id(s) for s, n in zip(flat, lengths) if n > max_length and len(s) > 1}
        if not oversize:
            return nested_spans, encoding
        nested_spans = [
            [
                part
                for span in doc_spans
                for part in (_halves(span) if id(span) in oversize else [span])
            ]
            for doc_spans in nested_spans
        ]


def tokenize_in_chunks(
    tokenizer: Any, texts: list[str], chunk_size: int = TOKENIZE_CHUNK_SPANS
) -> dict[str, Any]:
    """`huggingface_tokenize`, a chunk of texts at a time, padded to one width.

    The tokenizer's per-text `Encoding` objects (piece strings, offsets, word ids...)
    cost far more than the arrays kept from them: a 1M-character Chinese doc (10k
    windows) needed ~430 MB more when tokenized in one call. Each chunk keeps only
    its arrays and piece strings (one object per distinct piece); the result has the
    same keys and values as one call.

    tokenizer (Any): A (fast) Hugging Face tokenizer.
    texts (List[str]): The span texts.
    chunk_size (int): Texts per tokenizer call.
    RETURNS (Dict[str, Any]): input_ids, attention_mask, offset_mapping, ... as arrays,
        plus input_texts and pad_token.
    """
    if len(texts) <= chunk_size:
        return huggingface_tokenize(tokenizer, texts)
    parts = []
    shared: dict[str, str] = {}  # one str object per distinct piece, not per occurrence
    for start in range(0, len(texts), chunk_size):
        encoding = huggingface_tokenize(tokenizer, texts[start : start + chunk_size])
        part = {key: encoding[key] for key in encoding.keys() if key != "pad_token"}
        part["input_texts"] = [
            [shared.setdefault(piece, piece) for piece in row] for row in part["input_texts"]
        ]
        parts.append(part)
        del encoding
    width = max(part["input_ids"].shape[1] for part in parts)
    fills = {
        "input_ids": tokenizer.pad_token_id,
        "token_type_ids": getattr(tokenizer, "pad_token_type_id", 0),
    }
    left = getattr(tokenizer, "padding_side", "right") == "left"
    merged: dict[str, Any] = {"pad_token": tokenizer.pad_token}
    for key in parts[0]:
        if key == "input_texts":
            merged[key] = [
                ([tokenizer.pad_token] * (width - len(row)) + row) if left
                else (row + [tokenizer.pad_token] * (width - len(row)))
                for part in parts
                for row in part[key]
            ]
            continue
        padded = []
        for part in parts:
            array = part[key]
            pad = [(0, 0)] * array.ndim
            pad[1] = (width - array.shape[1], 0) if left else (0, width - array.shape[1])
            padded.append(numpy.pad(array, pad, constant_values=fills.get(key, 0)))
        merged[key] = numpy.concatenate(padded)
    return merged


def _halves(span: Span) -> list[Span]:
    middle = span.start + len(span) // 2
    return [span.doc[span.start : middle], span.doc[middle : span.end]]


def albert_forward(
    model: AlbertTransformerModel, docs: list[Doc], is_train: bool
) -> tuple[FullTransformerBatch, Callable]:
    """Run the encoder once over strided spans of the docs, aligned exactly to tokens."""
    if not any(len(doc) for doc in docs):
        return FullTransformerBatch.empty(len(docs)), lambda d_output: docs
    nested_spans = model.attrs["get_spans"](docs)
    nested_spans, encoding = tokenize_fitting(model.tokenizer, nested_spans, max_pieces(model))
    flat_spans = [span for doc_spans in nested_spans for span in doc_spans]
    align = get_exact_alignment(flat_spans, encoding["offset_mapping"])
    wordpieces = WordpieceBatch.from_batch_encoding(encoding)
    wordpieces, align = truncate_oversize_splits(wordpieces, align, max_pieces(model))
    with inference_autocast(model.attrs["inference_dtype"], enabled=not is_train):
        if is_train:
            model_output, backprop_tensors = model.layers[0](wordpieces, is_train)
        else:
            model_output = predict_in_chunks(model.layers[0], wordpieces, INFERENCE_MAX_PIECES)
    if not is_train:
        model_output = outputs_as_float32(model_output)
    output = FullTransformerBatch(
        spans=nested_spans, wordpieces=wordpieces, model_output=model_output, align=align
    )

    def backprop(d_output: FullTransformerBatch) -> list[Doc]:
        if not is_train:
            raise ValueError("Cannot backprop through a prediction-time forward pass.")
        backprop_tensors(d_output.model_output)
        return docs

    return output, backprop


def predict_in_chunks(layer: Model, wordpieces: WordpieceBatch, max_items: int) -> ModelOutput:
    """Run the encoder over the rows a few at a time, at most `max_items` padded pieces
    per call, and gather the outputs into one preallocated `ModelOutput`.

    layer (Model): The wrapped HF encoder (`model.layers[0]`).
    wordpieces (WordpieceBatch): The padded rows of all spans.
    max_items (int): Upper bound on rows * padded length per call.
    RETURNS (ModelOutput): The same fields as one call over all rows would give.
    """
    n_rows, row_len = wordpieces.input_ids.shape
    step = max(1, max_items // max(row_len, 1))
    if n_rows <= step:
        return layer.predict(wordpieces)
    merged: Optional[dict[str, Any]] = None
    output: Any = None
    for start in range(0, n_rows, step):
        output = layer.predict(wordpieces[start : start + step])
        if merged is None:
            merged = {key: _alloc_rows(value, n_rows) for key, value in output.items()}
        for key, value in output.items():
            _copy_rows(merged[key], value, start)
    assert merged is not None and output is not None
    return type(output)(**merged)


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
    if tok2vec_cfg.get("@architectures") == ARCH_NAME and "TransformerListener" in str(
        listener_cfg.get("@architectures")
    ):
        result["@architectures"] = TOK2VEC_ARCH_NAME
        for key in ("pooling", "grad_factor"):
            if key in listener_cfg:
                result[key] = listener_cfg[key]
    return result


@registry.architectures(ARCH_NAME)
def albert_transformer_v1(
    name: str,
    get_spans: Callable[[list[Doc]], list[list[Span]]],
    tokenizer_config: dict[str, Any] = None,
    transformer_config: dict[str, Any] = None,
    mixed_precision: bool = False,
    grad_scaler_config: dict[str, Any] = None,
    inference_dtype: str = "float32",
) -> Model[list[Doc], FullTransformerBatch]:
    """The shared ALBERT encoder, for the `albert_transformer` component.

    name (str): Hugging Face model name (e.g. 'albert-base-v2') or a local directory,
        e.g. one written by `python -m spacy_albert init-model`.
    get_spans (Callable): Cuts docs into spans (strided windows for long docs).
    tokenizer_config (dict): Passed to `AutoTokenizer.from_pretrained`; keep
        `use_fast` (offsets are needed for alignment) and `model_max_length`.
    transformer_config (dict): Passed to `AutoConfig.from_pretrained`.
    mixed_precision (bool): Train with fp16 autocast + grad scaling (GPU only).
    grad_scaler_config (dict): Options for the PyTorch grad scaler.
    inference_dtype (str): 'float32', or 'bfloat16' to run prediction under bf16
        autocast (a ~2x CPU speed-up on AMX/AVX-512-BF16 machines; falls back to
        float32 where the CPU lacks bf16 support).
    """
    if grad_scaler_config is None:
        grad_scaler_config = {}
    if transformer_config is None:
        transformer_config = {}
    if tokenizer_config is None:
        tokenizer_config = {"use_fast": True, "model_max_length": 512}
    return AlbertTransformerModel(
        name,
        get_spans,
        tokenizer_config,
        transformer_config,
        mixed_precision=mixed_precision,
        grad_scaler_config=grad_scaler_config,
        inference_dtype=inference_dtype,
    )


@registry.architectures(TOK2VEC_ARCH_NAME)
def albert_tok2vec_transformer_v1(
    name: str,
    get_spans: Callable[[list[Doc]], list[list[Span]]],
    pooling: Model[Ragged, Floats2d],
    tokenizer_config: dict[str, Any] = None,
    transformer_config: dict[str, Any] = None,
    mixed_precision: bool = False,
    grad_scaler_config: dict[str, Any] = None,
    inference_dtype: str = "float32",
    grad_factor: float = 1.0,
) -> Model[list[Doc], list[Floats2d]]:
    """A component's own ALBERT encoder (what `replace_listeners` gives a head).

    Arguments as for `spacy-albert.AlbertTransformer.v1`, plus:
    pooling (Model[Ragged, Floats2d]): Reduces each token's pieces to one vector.
    grad_factor (float): Scales the gradient passed into the encoder.
    """
    # A chain of a chain on purpose: the same node structure as a listener after
    # `replace_listener`, so a replaced pipeline saves and loads (spacy-transformers#310).
    if grad_scaler_config is None:
        grad_scaler_config = {}
    if transformer_config is None:
        transformer_config = {}
    if tokenizer_config is None:
        tokenizer_config = {"use_fast": True, "model_max_length": 512}
    return chain(
        chain(
            albert_transformer_v1(
                name,
                get_spans,
                tokenizer_config,
                transformer_config,
                mixed_precision,
                grad_scaler_config,
                inference_dtype,
            ),
            split_trf_batch(),
        ),
        trfs2arrays(pooling, grad_factor),
    )
