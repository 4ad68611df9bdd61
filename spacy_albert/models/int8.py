"""The int8 fast path: dynamic int8 quantization of ALBERT, stored as plain tensors.

`quantize_model` swaps every `nn.Linear` of a Hugging Face encoder for `Int8Linear`
(weights as int8 with one float scale per output row; activations quantized per batch
at run time, i.e. *dynamic* quantization) and every `nn.Embedding` for `Int8Embedding`
(int8 rows + one scale per row, dequantized on lookup). Both keep only plain tensors in
their state dict (`weight_int8`, `weight_scale`, `bias`), so the weights round-trip
through safetensors in `AlbertShim` with no pickle, and take about a quarter of the
float32 bytes on disk.

Why not `torch.ao.quantization.quantize_dynamic`: torch 2.13 deprecates it (and the
quantized-tensor types its packed params are built from), and its state dict holds
opaque packed objects that safetensors cannot store. torchao is its successor, but its
eager int8 path measured only ~1.3x here (DESIGN.md). `Int8Linear` instead calls the
oneDNN int8 matmul that PyTorch's own x86 int8 lowering (Inductor / torchao's pt2e
path) uses, `torch.ops.onednn.qlinear_pointwise`, on plain int8 tensors; on this
machine that is as fast as the deprecated fbgemm kernel. Where the kernel is missing
or fails (non-x86 builds, old CPUs, GPU tensors, or when gradients are needed), the
layer dequantizes its weights once and runs a float matmul: same results up to
activation rounding, no speed-up, still small on disk.
"""

import copy
import warnings
from collections.abc import Iterator
from functools import cache
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import nn

METHODS = ("int8-dynamic",)
QUANTIZATION_ATTR = "spacy_albert_quantization"
_INT8_MAX = 127.0


def quantize_rows(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 quantization with one scale per row.

    weight (torch.Tensor): A (rows, columns) float matrix.
    RETURNS (Tuple[torch.Tensor, torch.Tensor]): int8 values and float32 row scales,
        with `values.float() * scales[:, None]` ≈ weight.
    """
    weight = weight.detach().float()
    scale = (weight.abs().amax(dim=1) / _INT8_MAX).clamp(min=1e-12)
    values = torch.round(weight / scale[:, None]).clamp(-_INT8_MAX, _INT8_MAX).to(torch.int8)
    return values, scale


def _onednn_linear(
    x: torch.Tensor, packed: torch.Tensor, w_scale: torch.Tensor, w_zero: torch.Tensor,
    bias: Optional[torch.Tensor],
) -> torch.Tensor:
    """y = x @ W.T + b with x quantized to int8 per tensor (symmetric) on the fly."""
    x_scale = max(float(x.abs().amax()) / _INT8_MAX, 1e-8)
    qx = torch.round(x * (1.0 / x_scale)).clamp_(-_INT8_MAX, _INT8_MAX).to(torch.int8)
    return torch.ops.onednn.qlinear_pointwise(
        qx, x_scale, 0, packed, w_scale, w_zero, bias, 1.0, 0, torch.float32, "none", [], ""
    )


@cache
def int8_kernels_available() -> bool:
    """Whether this build and CPU run oneDNN's int8 linear correctly (probed once)."""
    try:
        if not torch.backends.mkldnn.is_available():
            return False
        gen = torch.Generator().manual_seed(0)
        weight = torch.randn(16, 32, generator=gen)
        x = torch.randn(4, 32, generator=gen)
        values, scale = quantize_rows(weight)
        packed = torch.ops.onednn.qlinear_prepack(values, None)
        y = _onednn_linear(x, packed, scale, torch.zeros(16, dtype=torch.long), None)
        expected = x @ (values.float() * scale[:, None]).T
        return bool(torch.allclose(y, expected, atol=0.1, rtol=0.05))
    except (AttributeError, RuntimeError, NotImplementedError):
        return False


@cache
def _warn_no_kernels() -> None:
    warnings.warn(
        "This CPU or PyTorch build has no oneDNN int8 matmul: the int8 pipeline runs "
        "its dequantized weights in float32 (same predictions, no speed-up).",
        stacklevel=3,
    )


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
        self._packed: Optional[torch.Tensor] = None
        self._zero_points: Optional[torch.Tensor] = None
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

    def _packed_weight(self) -> torch.Tensor:
        if self._packed is None:
            self._packed = torch.ops.onednn.qlinear_prepack(self.weight_int8, None)
            self._zero_points = torch.zeros(self.out_features, dtype=torch.long)
        return self._packed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        use_kernel = (
            x.device.type == "cpu"
            and not (torch.is_grad_enabled() and x.requires_grad)
            and x.numel() > 0
            and self.in_features * self.out_features >= self.kernel_min_weights
        )
        if use_kernel and int8_kernels_available():
            x32 = x if x.dtype == torch.float32 else x.float()
            bias = self.bias
            return _onednn_linear(
                x32.contiguous(), self._packed_weight(), self.weight_scale, self._zero_points, bias
            )
        if use_kernel:
            _warn_no_kernels()
        return self._float_forward(x)

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
        # oneDNN's packed weight is an opaque tensor: copies repack it lazily.
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
