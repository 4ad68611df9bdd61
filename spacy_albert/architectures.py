"""Registered model builders: the ALBERT encoder layer and its Tok2Vec form.

`AlbertTransformerModel` is spacy-transformers' `TransformerModel` with what ALBERT
needs that it lacks: exact piece↔token alignment (`alignment.py`), spans split until
they fit the position table, a clear offline error, and weights stored as safetensors.
"""

import copy
from typing import Any, Callable, Dict, List, Tuple

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

from .alignment import get_exact_alignment
from .loading import AlbertShim, load_hf_albert
from .precision import inference_autocast, outputs_as_float32

ARCH_NAME = "spacy-albert.AlbertTransformer.v1"
TOK2VEC_ARCH_NAME = "spacy-albert.AlbertTok2VecTransformer.v1"


class AlbertTransformerModel(TransformerModel):
    """An ALBERT (or any HF encoder) model whose forward pass aligns pieces exactly."""

    def __init__(
        self,
        name: str,
        get_spans: Callable[[List[Doc]], List[List[Span]]],
        tokenizer_config: Dict[str, Any] = {},
        transformer_config: Dict[str, Any] = {},
        mixed_precision: bool = False,
        grad_scaler_config: Dict[str, Any] = {},
        inference_dtype: str = "float32",
    ):
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
            self.attrs["name"], self.attrs["get_spans"], inference_dtype=self.attrs["inference_dtype"]
        )
        copied.dims = copy.deepcopy(self._dims)
        copied.layers[0] = copy.deepcopy(self.layers[0])
        copied.attrs["has_transformer"] = self.attrs["has_transformer"]
        return copied


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
    tokenizer: Any, nested_spans: List[List[Span]], max_length: int
) -> Tuple[List[List[Span]], Any]:
    """Tokenize the spans, halving any multi-token span whose pieces exceed max_length.

    Strided windows count spaCy tokens, not pieces, so a window of URLs or emoji can
    outgrow the position table; halving keeps every token represented. A single token
    longer than the table is left to `truncate_oversize_splits`.
    """
    while True:
        flat = [span for doc_spans in nested_spans for span in doc_spans]
        encoding = huggingface_tokenize(tokenizer, [span.text for span in flat])
        lengths = encoding["attention_mask"].sum(axis=1)
        oversize = {id(s) for s, n in zip(flat, lengths) if n > max_length and len(s) > 1}
        if not oversize:
            return nested_spans, encoding
        nested_spans = [
            [part for span in doc_spans for part in (_halves(span) if id(span) in oversize else [span])]
            for doc_spans in nested_spans
        ]


def _halves(span: Span) -> List[Span]:
    middle = span.start + len(span) // 2
    return [span.doc[span.start : middle], span.doc[middle : span.end]]


def albert_forward(
    model: AlbertTransformerModel, docs: List[Doc], is_train: bool
) -> Tuple[FullTransformerBatch, Callable]:
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
        model_output, backprop_tensors = model.layers[0](wordpieces, is_train)
    if not is_train:
        model_output = outputs_as_float32(model_output)
    output = FullTransformerBatch(
        spans=nested_spans, wordpieces=wordpieces, model_output=model_output, align=align
    )

    def backprop(d_output: FullTransformerBatch) -> List[Doc]:
        backprop_tensors(d_output.model_output)
        return docs

    return output, backprop


def replace_listener(model: Model) -> Model:
    """What a listener becomes when a head gets its own copy of the encoder."""
    return chain(model, split_trf_batch())


def replace_listener_cfg(tok2vec_cfg: Dict[str, Any], listener_cfg: Dict[str, Any]) -> Dict:
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
    get_spans: Callable[[List[Doc]], List[List[Span]]],
    tokenizer_config: Dict[str, Any] = {"use_fast": True, "model_max_length": 512},
    transformer_config: Dict[str, Any] = {},
    mixed_precision: bool = False,
    grad_scaler_config: Dict[str, Any] = {},
    inference_dtype: str = "float32",
) -> Model[List[Doc], FullTransformerBatch]:
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
    get_spans: Callable[[List[Doc]], List[List[Span]]],
    pooling: Model[Ragged, Floats2d],
    tokenizer_config: Dict[str, Any] = {"use_fast": True, "model_max_length": 512},
    transformer_config: Dict[str, Any] = {},
    mixed_precision: bool = False,
    grad_scaler_config: Dict[str, Any] = {},
    inference_dtype: str = "float32",
    grad_factor: float = 1.0,
) -> Model[List[Doc], List[Floats2d]]:
    """A component's own ALBERT encoder (what `replace_listeners` gives a head).

    Arguments as for `spacy-albert.AlbertTransformer.v1`, plus:
    pooling (Model[Ragged, Floats2d]): Reduces each token's pieces to one vector.
    grad_factor (float): Scales the gradient passed into the encoder.
    """
    # A chain of a chain on purpose: the same node structure as a listener after
    # `replace_listener`, so a replaced pipeline saves and loads (spacy-transformers#310).
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
