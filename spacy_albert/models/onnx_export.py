"""`export-onnx`: write a trained pipeline whose shared encoder runs on onnxruntime.

The encoder is traced with `torch.onnx.export` (dynamic batch and length) and,
optionally, int8-quantized with onnxruntime's `quantize_dynamic`. The output is a whole
spaCy pipeline: the heads are saved as they are, the transformer's `model` file holds
the ONNX graph (see `onnx.py`), and its config block names
`spacy-albert.OnnxAlbertTransformer.v1`, so `spacy.load(OUT)` and `nlp(text)` just work.
"""

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import spacy
import torch
from spacy.language import Language
from spacy.util import load_config
from spacy_transformers.util import make_tempdir

from .encoder import AlbertTransformerModel
from .int8 import quantization_method
from .onnx import (
    CONFIG_ATTRS,
    INPUT_NAMES,
    ONNX_ARCH_NAME,
    OUTPUT_NAME,
    OnnxEncoder,
    onnx_albert_transformer_v1,
)

DEFAULT_OPSET = 17
INT8_METHOD = "int8-dynamic"
# Two texts of different lengths, so the traced graph sees padding and a real mask.
_TRACE_TEXTS = ["Hello world.", "A slightly longer example sentence for tracing."]


@dataclass(frozen=True)
class OnnxExportResult:
    """What `export_onnx_pipeline` wrote.

    output (Path): The pipeline directory.
    components (tuple[str, ...]): Names of the transformer components exported.
    encoder_bytes (int): Size of the ONNX graph(s) stored in the pipeline.
    int8 (bool): Whether the graphs are int8-quantized.
    """

    output: Path
    components: tuple[str, ...]
    encoder_bytes: int
    int8: bool


class _LastHiddenState(torch.nn.Module):
    """The HF encoder with positional inputs and one output, as ONNX wants it."""

    def __init__(self, transformer: torch.nn.Module):
        super().__init__()
        self.transformer = transformer

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        output = self.transformer(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
        return output.last_hidden_state


def encoder_to_onnx(transformer: torch.nn.Module, tokenizer: Any, opset: int = DEFAULT_OPSET
                    ) -> bytes:
    """Export a Hugging Face encoder to ONNX with dynamic batch and length axes.

    transformer (torch.nn.Module): The encoder (e.g. `AlbertModel`), float32.
    tokenizer (Any): Its tokenizer, used to build example inputs for tracing.
    opset (int): ONNX opset version (17 or newer).
    RETURNS (bytes): The serialized ONNX model; output 'last_hidden_state'.
    """
    if opset < DEFAULT_OPSET:
        raise ValueError(f"opset must be at least {DEFAULT_OPSET}, got {opset}")
    encoding = tokenizer(_TRACE_TEXTS, padding=True, return_tensors="pt")
    example = (
        encoding["input_ids"],
        encoding["attention_mask"],
        encoding.get("token_type_ids", torch.zeros_like(encoding["input_ids"])),
    )
    dynamic_axes = {name: {0: "batch", 1: "length"} for name in (*INPUT_NAMES, OUTPUT_NAME)}
    was_training = transformer.training
    transformer.eval()
    try:
        with make_tempdir() as temp_dir, torch.no_grad(), warnings.catch_warnings():
            # The TorchScript exporter warns that it is legacy and about traced
            # constants (the mask's 1.0); it needs no onnxscript and handles HF models.
            warnings.simplefilter("ignore")
            path = temp_dir / "encoder.onnx"
            torch.onnx.export(
                _LastHiddenState(transformer),
                example,
                str(path),
                dynamo=False,
                opset_version=opset,
                input_names=list(INPUT_NAMES),
                output_names=[OUTPUT_NAME],
                dynamic_axes=dynamic_axes,
            )
            return path.read_bytes()
    finally:
        transformer.train(was_training)


def quantize_onnx_int8(onnx_bytes: bytes) -> bytes:
    """Dynamic int8 quantization (weights int8, activations per batch) by onnxruntime.

    onnxruntime's pre-processing runs first: the exporter routes ALBERT's shared layer
    weights through Identity nodes, which `quantize_dynamic` does not look through, so
    without it only the first layer was quantized and the graph grew (fp32 + int8 copies).

    onnx_bytes (bytes): A float32 ONNX model.
    RETURNS (bytes): The quantized ONNX model.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with make_tempdir() as temp_dir:
        source, prepared = temp_dir / "fp32.onnx", temp_dir / "prepared.onnx"
        target = temp_dir / "int8.onnx"
        source.write_bytes(onnx_bytes)
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        quantize_dynamic(str(prepared), str(target), weight_type=QuantType.QInt8)
        return target.read_bytes()


def shared_encoders(nlp: Language) -> list[str]:
    """Names of the components holding a torch ALBERT encoder that `export-onnx` handles.

    nlp (Language): The pipeline.
    RETURNS (list[str]): Transformer component names.
    RAISES (ValueError): A head has its own encoder copy, or an encoder is int8 already.
    """
    names = []
    for name, pipe in nlp.components:
        model = getattr(pipe, "model", None)
        if isinstance(model, AlbertTransformerModel):
            if quantization_method(model.transformer):
                raise ValueError(
                    f"Component '{name}' holds an int8 torch encoder: export the float32 "
                    "pipeline and pass --int8 to quantize the ONNX graph instead."
                )
            names.append(name)
        elif model is not None and any(
            isinstance(node, AlbertTransformerModel) for node in model.walk()
        ):
            raise ValueError(
                f"Component '{name}' has its own encoder copy (replace_listeners); "
                "export-onnx converts shared `albert_transformer` components only."
            )
    if not names:
        raise ValueError("The pipeline has no `albert_transformer` component to export.")
    return names


def export_onnx_pipeline(
    pipeline: Union[str, Path], output: Union[str, Path], int8: bool = False,
    opset: int = DEFAULT_OPSET,
) -> OnnxExportResult:
    """Save a copy of a trained pipeline whose shared encoder runs on onnxruntime.

    pipeline (Union[str, Path]): A trained pipeline directory or package name.
    output (Union[str, Path]): Directory to write the ONNX pipeline to.
    int8 (bool): Quantize the encoder to int8 (onnxruntime dynamic quantization).
    opset (int): ONNX opset version.
    RETURNS (OnnxExportResult): What was written.
    """
    output = Path(output)
    nlp = spacy.load(pipeline)
    names = shared_encoders(nlp)
    nlp.to_disk(output)
    config = load_config(output / "config.cfg", interpolate=False)
    encoder_bytes = 0
    for name in names:
        torch_model: AlbertTransformerModel = nlp.get_pipe(name).model
        onnx_bytes = encoder_to_onnx(torch_model.transformer, torch_model.tokenizer, opset)
        if int8:
            onnx_bytes = quantize_onnx_int8(onnx_bytes)
        run_time = {key: torch_model.attrs[key] for key in CONFIG_ATTRS}
        onnx_model = onnx_albert_transformer_v1(torch_model.attrs["get_spans"], **run_time)
        encoder = OnnxEncoder.load(
            onnx_bytes, torch_model.transformer.config, quantization=INT8_METHOD if int8 else None
        )
        onnx_model.set_encoder(torch_model.tokenizer, encoder)
        (output / name / "model").write_bytes(onnx_model.to_bytes())
        encoder_bytes += len(onnx_bytes)
        block = config["components"][name]["model"]
        config["components"][name]["model"] = {
            "@architectures": ONNX_ARCH_NAME,
            "get_spans": block["get_spans"],
            "num_threads": 0,
            **run_time,
        }
    config.to_disk(output / "config.cfg")
    return OnnxExportResult(output, tuple(names), encoder_bytes, int8)
