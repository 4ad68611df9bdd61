"""Registered model builders: the shared ALBERT encoder and a head's own copy of it.

v2 puts the run-time knobs (inference precision, chunk sizes) in the config; v1 is kept
unchanged for pipelines saved by 0.1.0.
"""

from typing import Any, Callable, Literal, Optional

from spacy.ml.models.parser import build_tb_parser_model
from spacy.ml.models.textcat import build_reduce_text_classifier
from spacy.tokens import Doc, Span
from spacy.util import registry
from spacy_transformers.data_classes import FullTransformerBatch, TransformerData
from spacy_transformers.layers import split_trf_batch, trfs2arrays
from thinc.api import Model, chain
from thinc.types import Floats2d, Ragged

from .doc_dropout import with_doc_dropout
from .encoder import (
    ARCH_NAME,
    ARCH_NAME_V1,
    DEFAULT_INFERENCE_MAX_PIECES,
    DEFAULT_TRAIN_LENGTH_GROUPS,
    TOK2VEC_ARCH_NAME,
    TOK2VEC_ARCH_NAME_V1,
    AlbertTransformerModel,
    InferenceDtype,
)
from .neighbours import with_neighbours
from .piece_pooling import PIECE_TOK2VEC_ARCH_NAME, trfs2pieces
from .tokenization import DEFAULT_TOKENIZE_CHUNK_SPANS

PARSER_ARCH_NAME = "spacy-albert.TransitionBasedParser.v1"
TEXTCAT_ARCH_NAME = "spacy-albert.TextCatReduce.v1"


def _own_encoder(
    encoder: AlbertTransformerModel, to_arrays: Model[list[TransformerData], list[Floats2d]]
) -> Model[list[Doc], list[Floats2d]]:
    # A chain of a chain on purpose: the same node structure as a listener after
    # `replace_listener`, so a replaced pipeline saves and loads (spacy-transformers#310).
    return chain(chain(encoder, split_trf_batch()), to_arrays)


@registry.architectures(ARCH_NAME)
def albert_transformer_v2(
    name: str,
    get_spans: Callable[[list[Doc]], list[list[Span]]],
    tokenizer_config: Optional[dict[str, Any]] = None,
    transformer_config: Optional[dict[str, Any]] = None,
    mixed_precision: bool = False,
    grad_scaler_config: Optional[dict[str, Any]] = None,
    inference_dtype: InferenceDtype = "float32",
    inference_max_pieces: int = DEFAULT_INFERENCE_MAX_PIECES,
    tokenize_chunk_spans: int = DEFAULT_TOKENIZE_CHUNK_SPANS,
    train_length_groups: int = DEFAULT_TRAIN_LENGTH_GROUPS,
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
    inference_max_pieces (int): Upper bound on padded pieces per encoder call at
        prediction time; bounds activation memory on long documents.
    tokenize_chunk_spans (int): Span texts per tokenizer call; bounds the memory of the
        tokenizer's per-text objects on long documents.
    train_length_groups (int): Encoder calls per training batch, over its rows sorted
        by length, each padded to its own longest row (1: one call over the batch).
        Same gradients, fewer padded pieces when a batch mixes long and short texts.
    """
    if train_length_groups < 1:
        raise ValueError(f"train_length_groups must be at least 1, not {train_length_groups}.")
    return AlbertTransformerModel(
        name,
        get_spans,
        {"use_fast": True, "model_max_length": 512} if tokenizer_config is None
        else tokenizer_config,
        {} if transformer_config is None else transformer_config,
        mixed_precision=mixed_precision,
        grad_scaler_config={} if grad_scaler_config is None else grad_scaler_config,
        inference_dtype=inference_dtype,
        inference_max_pieces=inference_max_pieces,
        tokenize_chunk_spans=tokenize_chunk_spans,
        train_length_groups=train_length_groups,
    )


@registry.architectures(TOK2VEC_ARCH_NAME)
def albert_tok2vec_transformer_v2(
    name: str,
    get_spans: Callable[[list[Doc]], list[list[Span]]],
    pooling: Model[Ragged, Floats2d],
    tokenizer_config: Optional[dict[str, Any]] = None,
    transformer_config: Optional[dict[str, Any]] = None,
    mixed_precision: bool = False,
    grad_scaler_config: Optional[dict[str, Any]] = None,
    inference_dtype: InferenceDtype = "float32",
    inference_max_pieces: int = DEFAULT_INFERENCE_MAX_PIECES,
    tokenize_chunk_spans: int = DEFAULT_TOKENIZE_CHUNK_SPANS,
    grad_factor: float = 1.0,
    train_length_groups: int = DEFAULT_TRAIN_LENGTH_GROUPS,
) -> Model[list[Doc], list[Floats2d]]:
    """A component's own ALBERT encoder (what `replace_listeners` gives a head).

    Arguments as for `spacy-albert.AlbertTransformer.v2`, plus:
    pooling (Model[Ragged, Floats2d]): Reduces each token's pieces to one vector.
    grad_factor (float): Scales the gradient passed into the encoder.
    """
    encoder = albert_transformer_v2(
        name, get_spans, tokenizer_config, transformer_config, mixed_precision,
        grad_scaler_config, inference_dtype, inference_max_pieces, tokenize_chunk_spans,
        train_length_groups,
    )
    return _own_encoder(encoder, trfs2arrays(pooling, grad_factor))


@registry.architectures(PIECE_TOK2VEC_ARCH_NAME)
def albert_piece_tok2vec_transformer_v1(
    name: str,
    get_spans: Callable[[list[Doc]], list[list[Span]]],
    tokenizer_config: Optional[dict[str, Any]] = None,
    transformer_config: Optional[dict[str, Any]] = None,
    mixed_precision: bool = False,
    grad_scaler_config: Optional[dict[str, Any]] = None,
    inference_dtype: InferenceDtype = "float32",
    inference_max_pieces: int = DEFAULT_INFERENCE_MAX_PIECES,
    tokenize_chunk_spans: int = DEFAULT_TOKENIZE_CHUNK_SPANS,
    grad_factor: float = 1.0,
    train_length_groups: int = DEFAULT_TRAIN_LENGTH_GROUPS,
) -> Model[list[Doc], list[Floats2d]]:
    """A component's own ALBERT encoder giving each doc one row per piece it read (what
    `replace_listeners` gives a head over `spacy-albert.PieceListener.v1`).

    Arguments as for `spacy-albert.AlbertTok2VecTransformer.v2`, without `pooling`.
    """
    encoder = albert_transformer_v2(
        name, get_spans, tokenizer_config, transformer_config, mixed_precision,
        grad_scaler_config, inference_dtype, inference_max_pieces, tokenize_chunk_spans,
        train_length_groups,
    )
    return _own_encoder(encoder, trfs2pieces(grad_factor))


# v1: as saved by release 0.1.0 (fixed chunk sizes; the dtype is checked when predicting,
# since a plain `str` passes config validation).
@registry.architectures(ARCH_NAME_V1)
def albert_transformer_v1(
    name: str,
    get_spans: Callable[[list[Doc]], list[list[Span]]],
    tokenizer_config: Optional[dict[str, Any]] = None,
    transformer_config: Optional[dict[str, Any]] = None,
    mixed_precision: bool = False,
    grad_scaler_config: Optional[dict[str, Any]] = None,
    inference_dtype: str = "float32",
) -> Model[list[Doc], FullTransformerBatch]:
    """The shared ALBERT encoder as of 0.1.0; see `spacy-albert.AlbertTransformer.v2`."""
    return albert_transformer_v2(
        name, get_spans, tokenizer_config, transformer_config, mixed_precision,
        grad_scaler_config, inference_dtype,  # type: ignore[arg-type]
    )


@registry.architectures(TOK2VEC_ARCH_NAME_V1)
def albert_tok2vec_transformer_v1(
    name: str,
    get_spans: Callable[[list[Doc]], list[list[Span]]],
    pooling: Model[Ragged, Floats2d],
    tokenizer_config: Optional[dict[str, Any]] = None,
    transformer_config: Optional[dict[str, Any]] = None,
    mixed_precision: bool = False,
    grad_scaler_config: Optional[dict[str, Any]] = None,
    inference_dtype: str = "float32",
    grad_factor: float = 1.0,
) -> Model[list[Doc], list[Floats2d]]:
    """A head's own ALBERT encoder as of 0.1.0; see `...AlbertTok2VecTransformer.v2`."""
    return albert_tok2vec_transformer_v2(
        name, get_spans, pooling, tokenizer_config, transformer_config, mixed_precision,
        grad_scaler_config, inference_dtype, grad_factor=grad_factor,  # type: ignore[arg-type]
    )


@registry.architectures(PARSER_ARCH_NAME)
def transition_based_parser_v1(
    tok2vec: Model[list[Doc], list[Floats2d]],
    state_type: Literal["parser", "ner"],
    extra_state_tokens: bool,
    hidden_width: int,
    maxout_pieces: int,
    use_upper: bool,
    nO: Optional[int] = None,
    neighbours: bool = True,
) -> Model:
    """spaCy's `TransitionBasedParser.v2`, each token's vector joined with those of the
    tokens before and after it in its sentence (`with_neighbours`).

    spaCy's `ner` reads one token at a time with no look-ahead (its state features are the
    token it labels, the open entity's first token and the token before), so whether an
    entity goes on past a token (BILUO's U vs B, L vs I) had to come from that token's
    vector alone. The neighbours wrap `tok2vec`, so the listener stays at `model.tok2vec`
    (sourcing with `replace_listeners` works as for spaCy's parser).
    """
    return build_tb_parser_model(with_neighbours(tok2vec) if neighbours else tok2vec,
                                 state_type, extra_state_tokens, hidden_width, maxout_pieces,
                                 use_upper, nO)


@registry.architectures(TEXTCAT_ARCH_NAME)
def text_cat_reduce_v1(
    tok2vec: Model[list[Doc], list[Floats2d]],
    exclusive_classes: bool,
    use_reduce_first: bool,
    use_reduce_last: bool,
    use_reduce_max: bool,
    use_reduce_mean: bool,
    nO: Optional[int] = None,
) -> Model[list[Doc], Floats2d]:
    """spaCy's `TextCatReduce.v1` with `[training] dropout` on the pooled doc vector, as the
    HF sequence classifier's head has (`with_doc_dropout`). The listener stays at
    `model.tok2vec`, so sourcing with `replace_listeners` works as for spaCy's textcat.
    """
    model = build_reduce_text_classifier(with_doc_dropout(tok2vec), exclusive_classes,
                                         use_reduce_first, use_reduce_last, use_reduce_max,
                                         use_reduce_mean, nO)
    model.set_ref("tok2vec", tok2vec)
    return model
