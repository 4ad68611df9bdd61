"""Reduced-precision inference: bf16 autocast where the hardware runs it natively."""

import contextlib
import warnings
from collections.abc import Iterator

import torch
from thinc.api import get_torch_default_device
from transformers.utils import ModelOutput

from .cpu import current_cpu

INFERENCE_DTYPES = ("float32", "bfloat16")


def cpu_supports_bf16() -> bool:
    """Whether this CPU runs bf16 matmuls natively (AVX-512 BF16 or AMX through oneDNN).

    Honours emulation caps such as `ONEDNN_MAX_CPU_ISA=AVX2` (see cpu.py): elsewhere bf16
    autocast is emulated and several times slower than float32.
    """
    return current_cpu().native_bf16


@contextlib.contextmanager
def inference_autocast(dtype: str, *, enabled: bool = True) -> Iterator[None]:
    """Run the enclosed forward pass under bf16 autocast when asked and supported.

    dtype (str): 'float32' (no-op) or 'bfloat16'.
    enabled (bool): False during training, whose precision `mixed_precision` governs.
    """
    if dtype not in INFERENCE_DTYPES:
        raise ValueError(f"inference_dtype must be one of {INFERENCE_DTYPES}, got {dtype!r}")
    if not enabled or dtype == "float32":
        yield
        return
    device_type = get_torch_default_device().type
    if device_type == "cpu" and not cpu_supports_bf16():
        warnings.warn(
            "inference_dtype='bfloat16' asked for, but this CPU has no native bf16 support: "
            "running in float32.",
            stacklevel=2,
        )
        yield
        return
    with torch.autocast(device_type=device_type, dtype=torch.bfloat16):
        yield


def outputs_as_float32(model_output: ModelOutput) -> ModelOutput:
    """Cast reduced-precision output tensors back to float32 (NumPy has no bf16)."""
    for key, value in model_output.items():
        is_float = isinstance(value, torch.Tensor) and value.is_floating_point()
        if is_float and value.dtype != torch.float32:
            model_output[key] = value.float()
    return model_output
