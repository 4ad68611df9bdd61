"""The ALBERT encoder run by onnxruntime: `spacy-albert.OnnxAlbertTransformer.v1`.

The model reuses the torch model's forward pass (`albert_forward`: strided spans,
tokenization that fits the position table, exact piece↔token alignment, chunked
prediction) and swaps only the encoder call: `model.layers[0].predict(wordpieces)`
runs an onnxruntime session instead of the PyTorch module. The heads (ner, textcat)
are untouched and read `doc._.trf_data` as before, so predictions equal the torch
pipeline's up to float rounding.

Inside a saved pipeline the transformer's `model` file holds the ONNX graph, the HF
config and the fast tokenizer's files (no torch weights). Writing it is
`onnx_export.py`'s job; this module only runs what was exported. torch is still imported
(spacy-transformers' data classes hold torch tensors), but no torch op runs the encoder.
"""

from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy
import srsly
import torch
from spacy.tokens import Doc, Span
from spacy.util import registry
from spacy_transformers.data_classes import FullTransformerBatch, WordpieceBatch
from spacy_transformers.util import make_tempdir
from thinc.api import Model
from thinc.shims import Shim
from transformers import AutoConfig, AutoTokenizer, PretrainedConfig
from transformers.modeling_outputs import BaseModelOutput

from .encoder import (
    DEFAULT_INFERENCE_MAX_PIECES,
    albert_forward,
    replace_listener,
    replace_listener_cfg,
)
from .tokenization import DEFAULT_TOKENIZE_CHUNK_SPANS

ONNX_ARCH_NAME = "spacy-albert.OnnxAlbertTransformer.v1"
# Attrs that come from the config, not from the saved model (see `from_bytes`).
CONFIG_ATTRS = ("inference_max_pieces", "tokenize_chunk_spans")
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "last_hidden_state"


class OnnxRuntimeMissingError(ImportError):
    """onnxruntime is not installed."""


def _onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as err:
        raise OnnxRuntimeMissingError(
            "This pipeline runs its encoder with onnxruntime, which is not installed: "
            "pip install 'spacy-albert[onnx]'"
        ) from err
    return onnxruntime


@dataclass
class OnnxEncoder:
    """An exported encoder: its ONNX graph, HF config and an onnxruntime session.

    onnx_bytes (bytes): The serialized ONNX model.
    config (PretrainedConfig): The encoder's HF config (`max_position_embeddings`...).
    session (Any): An `onnxruntime.InferenceSession` over `onnx_bytes`.
    quantization (Optional[str]): 'int8-dynamic' for an int8 graph, else None.
    """

    onnx_bytes: bytes
    config: PretrainedConfig
    session: Any
    quantization: Optional[str] = None

    @classmethod
    def load(
        cls, onnx_bytes: bytes, config: PretrainedConfig, num_threads: int = 0,
        quantization: Optional[str] = None,
    ) -> "OnnxEncoder":
        """Open an onnxruntime CPU session over the graph.

        onnx_bytes (bytes): The serialized ONNX model.
        config (PretrainedConfig): The encoder's HF config.
        num_threads (int): onnxruntime intra-op threads (0: its default, one per core).
        quantization (Optional[str]): Recorded with the graph ('int8-dynamic' or None).
        RETURNS (OnnxEncoder): The encoder, ready to run.
        """
        ort = _onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(
            onnx_bytes, sess_options=options, providers=["CPUExecutionProvider"]
        )
        return cls(onnx_bytes, config, session, quantization)

    def run(self, wordpieces: WordpieceBatch) -> numpy.ndarray:
        """The last hidden state (rows, pieces, width) for a padded batch of pieces."""
        ids = numpy.ascontiguousarray(wordpieces.input_ids, dtype=numpy.int64)
        feeds = {
            "input_ids": ids,
            "attention_mask": numpy.ascontiguousarray(
                wordpieces.attention_mask, dtype=numpy.int64
            ),
            "token_type_ids": (
                numpy.zeros_like(ids)
                if wordpieces.token_type_ids is None
                else numpy.ascontiguousarray(wordpieces.token_type_ids, dtype=numpy.int64)
            ),
        }
        wanted = {item.name for item in self.session.get_inputs()}
        (hidden,) = self.session.run(
            [OUTPUT_NAME], {k: v for k, v in feeds.items() if k in wanted}
        )
        return hidden


class OnnxShim(Shim):
    """Holds the tokenizer and the ONNX encoder; serializes both without torch weights."""

    def __init__(self, num_threads: int = 0):
        super().__init__(None, config={"num_threads": num_threads})
        self.tokenizer: Any = None
        self.encoder: Optional[OnnxEncoder] = None

    def set_encoder(self, tokenizer: Any, encoder: OnnxEncoder) -> None:
        self.tokenizer = tokenizer
        self.encoder = encoder

    def to_bytes(self) -> bytes:
        if self.encoder is None:
            return srsly.msgpack_dumps({"config": {}})
        with make_tempdir() as temp_dir:
            # Fast tokenizer files only: tokenizer.json carries the whole vocabulary
            # and the ONNX pipeline needs offsets, which only fast tokenizers give.
            self.tokenizer.save_pretrained(str(temp_dir), legacy_format=False)
            files = {p.name: p.read_bytes() for p in temp_dir.iterdir() if p.is_file()}
        msg = {
            "config": self.encoder.config.to_dict(),
            "tokenizer": files,
            "onnx": self.encoder.onnx_bytes,
            "quantization": self.encoder.quantization,
        }
        return srsly.msgpack_dumps(msg)

    def from_bytes(self, bytes_data: bytes) -> "OnnxShim":
        msg = srsly.msgpack_loads(bytes_data)
        if not msg["config"]:
            return self
        with make_tempdir() as temp_dir:
            srsly.write_json(temp_dir / "config.json", msg["config"])
            config = AutoConfig.from_pretrained(str(temp_dir / "config.json"))
            for file_name, data in msg["tokenizer"].items():
                (temp_dir / file_name).write_bytes(data)
            tokenizer = AutoTokenizer.from_pretrained(str(temp_dir), use_fast=True)
        encoder = OnnxEncoder.load(
            msg["onnx"], config, self.cfg["num_threads"], msg.get("quantization")
        )
        self.set_encoder(tokenizer, encoder)
        return self

    def copy(self) -> "OnnxShim":
        # An InferenceSession cannot be deep-copied; a copy shares the read-only session.
        copied = OnnxShim(self.cfg["num_threads"])
        if self.encoder is not None:
            copied.set_encoder(self.tokenizer, self.encoder)
        return copied


class OnnxAlbertTransformerModel(Model):
    """`albert_forward` over an onnxruntime encoder (prediction only)."""

    def __init__(
        self,
        get_spans: Callable[[list[Doc]], list[list[Span]]],
        num_threads: int = 0,
        inference_max_pieces: int = DEFAULT_INFERENCE_MAX_PIECES,
        tokenize_chunk_spans: int = DEFAULT_TOKENIZE_CHUNK_SPANS,
    ):
        encoder_layer = Model(
            "onnx-encoder",
            onnx_encoder_forward,
            shims=[OnnxShim(num_threads)],
            dims={"nI": None, "nO": None},
        )
        super().__init__(
            "albert_onnx_transformer",
            albert_forward,
            init=onnx_init,
            layers=[encoder_layer],
            dims={"nO": None},
            attrs={
                "get_spans": get_spans,
                "has_transformer": False,
                "flush_cache_chance": 0.0,
                "replace_listener": replace_listener,
                "replace_listener_cfg": replace_listener_cfg,
                "inference_dtype": "float32",
                "inference_max_pieces": inference_max_pieces,
                "tokenize_chunk_spans": tokenize_chunk_spans,
            },
        )

    @property
    def shim(self) -> OnnxShim:
        return self.layers[0].shims[0]

    @property
    def tokenizer(self) -> Any:
        return self.shim.tokenizer

    @property
    def transformer(self) -> Optional[OnnxEncoder]:
        """The encoder (`albert_forward` reads its `config` for the position table)."""
        return self.shim.encoder

    def set_encoder(self, tokenizer: Any, encoder: OnnxEncoder) -> None:
        """Install the tokenizer and the ONNX encoder and set the output width."""
        self.shim.set_encoder(tokenizer, encoder)
        self.attrs["has_transformer"] = True
        self.set_dim("nO", encoder.config.hidden_size)

    def from_bytes(self, bytes_data: bytes) -> "OnnxAlbertTransformerModel":
        """Load the encoder, keeping the config's run-time settings (chunk sizes)."""
        from_config = {key: self.attrs[key] for key in CONFIG_ATTRS}
        super().from_bytes(bytes_data)
        self.attrs.update(from_config)
        self.attrs["has_transformer"] = self.shim.encoder is not None
        return self


def onnx_init(model: OnnxAlbertTransformerModel, X: Any = None, Y: Any = None) -> None:
    """Nothing to initialize from: an ONNX encoder only comes from `export-onnx`."""
    if model.transformer is None:
        raise ValueError(
            f"{ONNX_ARCH_NAME} has no encoder to initialize from: build the pipeline with "
            "`python -m spacy_albert export-onnx PIPELINE OUT` from a trained torch pipeline."
        )


def onnx_encoder_forward(
    model: Model, wordpieces: WordpieceBatch, is_train: bool
) -> tuple[BaseModelOutput, Callable]:
    """Run the ONNX encoder; the output holds torch tensors as spacy-transformers expects."""
    if is_train:
        raise ValueError(
            "The ONNX encoder runs prediction only: train or fine-tune the torch pipeline, "
            "then export it again with `python -m spacy_albert export-onnx`."
        )
    encoder = model.shims[0].encoder
    if encoder is None:
        raise ValueError("The ONNX encoder is not loaded (see `export-onnx`).")
    hidden = encoder.run(wordpieces)
    return BaseModelOutput(last_hidden_state=torch.from_numpy(hidden)), _no_backprop


def _no_backprop(d_output: Any) -> Any:
    raise ValueError("Cannot backprop through the ONNX encoder.")


@registry.architectures(ONNX_ARCH_NAME)
def onnx_albert_transformer_v1(
    get_spans: Callable[[list[Doc]], list[list[Span]]],
    num_threads: int = 0,
    inference_max_pieces: int = DEFAULT_INFERENCE_MAX_PIECES,
    tokenize_chunk_spans: int = DEFAULT_TOKENIZE_CHUNK_SPANS,
) -> Model[list[Doc], FullTransformerBatch]:
    """The shared ALBERT encoder, exported to ONNX and run by onnxruntime (CPU).

    The graph, config and tokenizer are loaded from the pipeline's `transformer/model`
    file written by `python -m spacy_albert export-onnx`; the model is inference-only.

    get_spans (Callable): Cuts docs into spans (keep the torch pipeline's windows).
    num_threads (int): onnxruntime intra-op threads (0: one per physical core).
    inference_max_pieces (int): Upper bound on padded pieces per encoder call.
    tokenize_chunk_spans (int): Span texts per tokenizer call.
    """
    return OnnxAlbertTransformerModel(
        get_spans, num_threads, inference_max_pieces, tokenize_chunk_spans
    )
