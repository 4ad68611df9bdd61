"""The int8 fast path: dynamic int8 quantization of ALBERT, stored as plain tensors.

`quantize_model` swaps every `nn.Linear` of a Hugging Face encoder for `Int8Linear`
(weights as int8 with one float scale per output row; activations quantized per batch
at run time, i.e. *dynamic* quantization) and every `nn.Embedding` for `Int8Embedding`
(int8 rows + one scale per row, dequantized on lookup). Both keep only plain tensors in
their state dict (`weight_int8`, `weight_scale`, `bias`), so the weights round-trip
through safetensors in `AlbertShim` with no pickle, and take about a quarter of the
float32 bytes on disk. This is the only saved format (0.1.0 pipelines included).

Which matmul runs is decided per process, not saved: `int8_kernels.default_choice()`
picks oneDNN's int8 kernel where the CPU has VNNI/AMX, fbgemm's (the one behind
`torch.ao.quantization.quantize_dynamic`) on AVX2-only CPUs, and the dequantized float32
weights (no speed-up, with a warning) elsewhere, on GPUs, or when gradients are needed.
`use_int8_kernel` pins a kernel, e.g. to compare them.

Why not store `quantize_dynamic`'s model: its state dict holds opaque packed objects
that safetensors cannot store, and torch 2.13 deprecates it; its kernel is used here on
the plain tensors instead.
"""

import copy
import warnings
from collections.abc import Iterator
from functools import cache
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import nn

from .int8_kernels import (
    Int8Kernel,
    PackedWeight,
    check_kernel,
    default_choice,
    pack,
    quantize_rows,
    run,
)

METHODS = ("int8-dynamic",)
QUANTIZATION_ATTR = "spacy_albert_quantization"


@cache
def _warn_no_kernels(description: str) -> None:
    warnings.warn(f"int8: {description}.", stacklevel=3)


class Int8Linear(nn.Module):
    """A Linear layer with int8 weights (per-row scales) and dynamic int8 activations.

    in_features (int): Input width.
    out_features (int): Output width.
    bias (bool): Whether the layer has a bias.
    """

    # Below this many weights the int8 kernel's fixed cost (quantizing the activations,
    # one scale reduction) outweighs the cheaper matmul: measured crossover ~256x256 on
    # a 2-core Xeon. Smaller layers keep int8 storage but run the float matmul.
    kernel_min_weights = 1 << 16

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        weight = torch.zeros(out_features, in_features, dtype=torch.int8)
        self.register_buffer("weight_int8", weight)
        self.register_buffer("weight_scale", torch.ones(out_features))
        self.register_buffer("bias", torch.zeros(out_features) if bias else None)
        # None: the process's default kernel (int8_kernels.default_choice()).
        self.kernel: Optional[Int8Kernel] = None
        self._packed: Optional[PackedWeight] = None
        self._dequantized: Optional[torch.Tensor] = None

    @classmethod
    def from_float(cls, linear: nn.Linear) -> "Int8Linear":
        """Quantize a float Linear layer.

        linear (nn.Linear): The layer to quantize.
        RETURNS (Int8Linear): The int8 layer, on the same device.
        """
        layer = cls(linear.in_features, linear.out_features, bias=linear.bias is not None)
        values, scale = quantize_rows(linear.weight)
        layer.weight_int8.copy_(values)
        layer.weight_scale.copy_(scale)
        if linear.bias is not None:
            layer.bias.copy_(linear.bias.detach().float())
        return layer.to(linear.weight.device)

    @property
    def weight(self) -> torch.Tensor:
        """The dequantized float32 weight (for code that inspects `layer.weight`)."""
        return self.dequantized_weight()

    def dequantized_weight(self) -> torch.Tensor:
        """The float32 weight the int8 values stand for (cached)."""
        if self._dequantized is None or self._dequantized.device != self.weight_int8.device:
            self._dequantized = self.weight_int8.float() * self.weight_scale[:, None]
        return self._dequantized

    def _packed_weight(self, kernel: Int8Kernel) -> PackedWeight:
        if self._packed is None or self._packed.kernel != kernel:
            self._packed = pack(kernel, self.weight_int8, self.weight_scale, self.bias)
        return self._packed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        use_kernel = (
            x.device.type == "cpu"
            and not (torch.is_grad_enabled() and x.requires_grad)
            and x.numel() > 0
            and self.in_features * self.out_features >= self.kernel_min_weights
        )
        if not use_kernel:
            return self._float_forward(x)
        kernel = self.kernel
        if kernel is None:
            choice = default_choice()
            if not choice.is_fast_path:
                _warn_no_kernels(choice.describe())
            kernel = choice.kernel
        if kernel == "float":
            return self._float_forward(x)
        x32 = x if x.dtype == torch.float32 else x.float()
        return run(self._packed_weight(kernel), x32.contiguous())

    def _float_forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.dequantized_weight().to(x.dtype)
        bias = self.bias.to(x.dtype) if self.bias is not None else None
        return F.linear(x, weight, bias)

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self._reset_caches()

    def _reset_caches(self) -> None:
        self._packed = None
        self._dequantized = None

    def __getstate__(self) -> dict[str, Any]:
        # Packed weights are opaque kernel objects: copies repack them lazily.
        state = self.__dict__.copy()
        state.update(_packed=None, _dequantized=None)
        return state

    def __deepcopy__(self, memo: dict[int, Any]) -> "Int8Linear":
        new = self.__class__.__new__(self.__class__)
        memo[id(self)] = new
        for key, value in self.__getstate__().items():
            new.__dict__[key] = copy.deepcopy(value, memo)
        return new

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}, int8 weights per-row, dynamic int8 activations"
        )


class Int8Embedding(nn.Module):
    """An embedding table stored as int8 rows with one float scale per row.

    num_embeddings (int): Rows in the table.
    embedding_dim (int): Width of each row.
    padding_idx (Optional[int]): Kept for code that reads it.
    """

    def __init__(
        self, num_embeddings: int, embedding_dim: int, padding_idx: Optional[int] = None
    ) -> None:
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.register_buffer(
            "weight_int8", torch.zeros(num_embeddings, embedding_dim, dtype=torch.int8)
        )
        self.register_buffer("weight_scale", torch.ones(num_embeddings))

    @classmethod
    def from_float(cls, embedding: nn.Embedding) -> "Int8Embedding":
        """Quantize a float embedding table.

        embedding (nn.Embedding): The table to quantize.
        RETURNS (Int8Embedding): The int8 table, on the same device.
        """
        layer = cls(embedding.num_embeddings, embedding.embedding_dim, embedding.padding_idx)
        values, scale = quantize_rows(embedding.weight)
        layer.weight_int8.copy_(values)
        layer.weight_scale.copy_(scale)
        return layer.to(embedding.weight.device)

    @property
    def weight(self) -> torch.Tensor:
        """The dequantized float32 table (for code that inspects `.weight`)."""
        return self.weight_int8.float() * self.weight_scale[:, None]

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        rows = F.embedding(ids, self.weight_int8).float()
        return rows * self.weight_scale[ids].unsqueeze(-1)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}, int8 rows"


def _children_to_quantize(model: nn.Module) -> Iterator[tuple[nn.Module, str, nn.Module]]:
    for parent in model.modules():
        for name, child in parent.named_children():
            if type(child) in (nn.Linear, nn.Embedding):
                yield parent, name, child


def quantize_model(model: nn.Module, method: str = "int8-dynamic") -> nn.Module:
    """Quantize a Hugging Face encoder in place (Linear and Embedding layers).

    Shared modules (ALBERT shares one layer across all its layers) are quantized once
    and stay shared.

    model (nn.Module): E.g. an `AlbertModel`.
    method (str): 'int8-dynamic'.
    RETURNS (nn.Module): The same model object, marked with its quantization method.
    """
    if method not in METHODS:
        raise ValueError(f"Unknown quantization method {method!r}; choose one of {METHODS}.")
    if quantization_method(model) is not None:
        return model
    replaced: dict[int, nn.Module] = {}
    targets: list[tuple[nn.Module, str, nn.Module]] = list(_children_to_quantize(model))
    for parent, name, child in targets:
        if id(child) not in replaced:
            if isinstance(child, nn.Linear):
                replaced[id(child)] = Int8Linear.from_float(child)
            else:
                replaced[id(child)] = Int8Embedding.from_float(child)
        setattr(parent, name, replaced[id(child)])
    setattr(model, QUANTIZATION_ATTR, method)
    return model


def quantization_method(model: Optional[nn.Module]) -> Optional[str]:
    """The quantization method a model was quantized with, or None for a float model."""
    return getattr(model, QUANTIZATION_ATTR, None) if model is not None else None


def use_int8_kernel(model: nn.Module, kernel: Optional[str]) -> int:
    """Pin the matmul kernel of every Int8Linear in a model (None: back to the default).

    model (nn.Module): A quantized encoder (or any module holding Int8Linear layers).
    kernel (Optional[str]): "onednn", "fbgemm", "float", or None for the CPU's default.
    RETURNS (int): How many layers were set.
    """
    checked = check_kernel(kernel) if kernel is not None else None
    layers = [module for module in model.modules() if isinstance(module, Int8Linear)]
    for layer in layers:
        layer.kernel = checked
    return len(layers)


def iter_transformer_shims(nlp: Any) -> Iterator[Any]:
    """Every spacy-transformers shim holding a loaded HF model in a pipeline.

    Covers the shared `albert_transformer` and heads that own a copy of the encoder
    after `replace_listeners`.
    """
    from spacy_transformers.layers.hf_shim import HFShim

    seen = set()
    for _, component in nlp.components:
        model = getattr(component, "model", None)
        if model is None or not hasattr(model, "walk"):
            continue
        for node in model.walk():
            for shim in node.shims:
                if isinstance(shim, HFShim) and id(shim) not in seen:
                    seen.add(id(shim))
                    if getattr(shim, "_model", None) is not None:
                        yield shim


def quantize_pipeline(nlp: Any, method: str = "int8-dynamic") -> int:
    """Quantize every ALBERT encoder of a loaded spaCy pipeline in place.

    nlp (Language): A pipeline with `albert_transformer` (or own-encoder heads).
    method (str): 'int8-dynamic'.
    RETURNS (int): How many encoders were quantized.
    """
    count = 0
    for shim in iter_transformer_shims(nlp):
        quantize_model(shim._model, method)
        count += 1
    if count:
        nlp.meta.setdefault("spacy_albert", {})["quantization"] = method
    return count
