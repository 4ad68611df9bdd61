"""The int8 matmul kernels behind `Int8Linear`, and which one this CPU should run.

One saved format (int8 weights + one float scale per row, see int8.py) feeds three kernels,
chosen at run time:

- "onednn": `torch.ops.quantized.linear_dynamic` on weights packed for oneDNN. Fastest
  where the CPU has an int8 dot-product instruction (AVX-512 VNNI, AVX-VNNI, AMX-INT8):
  about twice fbgemm's speed there, with 8-bit activations. Without one, oneDNN's int8
  matmul is off by 4-18 % of the output range, so the probe refuses it.
- "fbgemm": the same op on weights packed for fbgemm, the kernel behind
  `torch.ao.quantization.quantize_dynamic`; it has AVX2 code, so it also speeds up the
  common AVX2-only cloud CPU. Its activations use 7 bits (`reduce_range`).
- "float": the dequantized weights in a float32 matmul. Same predictions up to activation
  rounding, smaller on disk, **no speed-up**; never reported as a fast path.

Both quantize the activations per tensor inside the op, in one pass. Each kernel is probed
once against a float reference before it is used, so a PyTorch build that lacks one (or
drops the deprecated quantized-tensor API the weights are packed from) falls through to the
next.
"""

import warnings
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from typing import Literal, Optional, cast

import torch

from .cpu import CpuInfo, current_cpu

Int8Kernel = Literal["onednn", "fbgemm", "float"]
KERNELS: tuple[Int8Kernel, ...] = ("onednn", "fbgemm", "float")
INT8_MAX = 127.0
PROBE_TOLERANCE = 0.03
# Encoder forward speed over float32 per kernel and CPU class, median to best round:
# albert-base, 64 short CoNLL texts in one batch, 1 thread, CPU time (`python -m
# bench.kernels [--emulate-avx2]`, bench/results/kernels*.json). Attention, GELU and
# LayerNorm stay in float32, which caps the encoder ratio below the matmul ratio (~2-3x).
# AVX2: 1.46x median and best round on an AVX2-only AMD EPYC (kernels-avx2.json); with
# a Xeon's libraries capped to AVX2, median 1.20x and 1.37x, best 1.40x and 1.53x.
EXPECTED_SPEEDUP = {
    ("onednn", "int8-dot"): "~1.9-2.3x",
    ("fbgemm", "int8-dot"): "~1.55-1.65x",
    ("fbgemm", "avx2"): "~1.2-1.5x",
}


@dataclass(frozen=True)
class KernelChoice:
    """The kernel int8 layers run on a CPU, and what to expect from it.

    kernel (Int8Kernel): "onednn", "fbgemm" or "float".
    reason (str): Why this kernel, in words.
    expected (str): The expected encoder speed-up over float32 ("none" for "float").
    """

    kernel: Int8Kernel
    reason: str
    expected: str

    @property
    def is_fast_path(self) -> bool:
        """Whether int8 is expected to be faster than float32 here."""
        return self.kernel != "float"

    def describe(self) -> str:
        """One line for users: which kernel, and its expected effect."""
        if not self.is_fast_path:
            return (f"no int8 kernel for this CPU ({self.reason}): the int8 pipeline runs its "
                    "dequantized weights in float32: smaller on disk, same predictions, "
                    "no speed-up (not a fast path)")
        return (f"{self.kernel} int8: expected {self.expected} encoder speed over float32 "
                f"({self.reason})")


def choose_kernel(cpu: CpuInfo, available: Collection[str]) -> KernelChoice:
    """The fastest int8 kernel for a CPU among the ones that work in this PyTorch build.

    oneDNN wins where the CPU has an int8 dot product (VNNI / AMX); without one, fbgemm's
    AVX2 kernel is the one that is both right and fast (oneDNN's int8 matmul fails the
    probe there); with neither, float32 (no speed-up).

    cpu (CpuInfo): The CPU (emulation caps applied).
    available (Collection[str]): The kernels whose probe passed.
    RETURNS (KernelChoice): The kernel, why, and the expected speed-up.
    """
    if cpu.has_int8_dot and "onednn" in available:
        dot = "/".join(f for f in cpu.flags if f in ("avx512_vnni", "avx_vnni", "amx_int8"))
        return KernelChoice("onednn", f"CPU has {dot}", EXPECTED_SPEEDUP[("onednn", "int8-dot")])
    cpu_class = "int8-dot" if cpu.has_int8_dot else "avx2"
    if cpu.has_avx2 and "fbgemm" in available:
        reason = "no oneDNN int8 kernel" if cpu.has_int8_dot else "AVX2 without VNNI/AMX"
        return KernelChoice("fbgemm", reason, EXPECTED_SPEEDUP[("fbgemm", cpu_class)])
    reason = "no AVX2" if not cpu.has_avx2 else "neither oneDNN nor fbgemm int8 works here"
    return KernelChoice("float", reason, "none")


@cache
def kernel_available(kernel: Int8Kernel) -> bool:
    """Whether `kernel` runs and matches the float reference in this build (probed once)."""
    if kernel == "float":
        return True
    try:
        gen = torch.Generator().manual_seed(0)
        weight = torch.randn(64, 256, generator=gen)
        x = torch.randn(8, 256, generator=gen)
        values, scale = quantize_rows(weight)
        y = run(pack(kernel, values, scale, None), x)
    except (AttributeError, RuntimeError, NotImplementedError):
        return False
    expected = x @ (values.float() * scale[:, None]).T
    # Right kernels are off by ~1-2.5 % of the largest output (activation rounding); oneDNN's
    # int8 matmul on AVX2 without VNNI saturates and is off by 4-18 %: no fast path then.
    return float((y - expected).abs().max()) <= PROBE_TOLERANCE * float(expected.abs().max())


def available_kernels() -> tuple[Int8Kernel, ...]:
    """The kernels whose probe passes in this process."""
    return tuple(kernel for kernel in KERNELS if kernel_available(kernel))


@cache
def default_choice() -> KernelChoice:
    """The kernel choice for this process's CPU (see choose_kernel)."""
    return choose_kernel(current_cpu(), available_kernels())


def check_kernel(kernel: str) -> Int8Kernel:
    """`kernel` as an Int8Kernel, or a ValueError if it is unknown or does not run here."""
    if kernel not in KERNELS:
        raise ValueError(f"Unknown int8 kernel {kernel!r}; choose one of {KERNELS}.")
    if not kernel_available(cast(Int8Kernel, kernel)):
        raise ValueError(f"The {kernel} int8 kernel does not run on this CPU / PyTorch build "
                         f"(available: {', '.join(available_kernels())}).")
    return cast(Int8Kernel, kernel)


def quantize_rows(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 quantization with one scale per row.

    weight (torch.Tensor): A (rows, columns) float matrix.
    RETURNS (Tuple[torch.Tensor, torch.Tensor]): int8 values and float32 row scales,
        with `values.float() * scales[:, None]` ≈ weight.
    """
    weight = weight.detach().float()
    scale = (weight.abs().amax(dim=1) / INT8_MAX).clamp(min=1e-12)
    values = torch.round(weight / scale[:, None]).clamp(-INT8_MAX, INT8_MAX).to(torch.int8)
    return values, scale


@dataclass
class PackedWeight:
    """A weight in the layout one kernel wants.

    kernel (Int8Kernel): The kernel it was packed for.
    data (object): The kernel's packed-params object (weights, row scales and bias).
    """

    kernel: Int8Kernel
    data: object


def pack(kernel: Int8Kernel, values: torch.Tensor, scale: torch.Tensor,
         bias: Optional[torch.Tensor]) -> PackedWeight:
    """Pack int8 weight rows, their scales and the bias for an int8 kernel.

    kernel (Int8Kernel): "onednn" or "fbgemm".
    values (torch.Tensor): (out, in) int8 weights.
    scale (torch.Tensor): (out,) float32 row scales.
    bias (Optional[torch.Tensor]): (out,) float32 bias, or None.
    RETURNS (PackedWeight): What `run` takes.
    """
    if kernel not in ("onednn", "fbgemm"):
        raise ValueError(f"No packed form for the {kernel!r} kernel.")
    previous = torch.backends.quantized.engine
    with warnings.catch_warnings():
        # torch 2.13 deprecates quantized tensors; the prepack ops still take one.
        warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")
        qweight = torch._make_per_channel_quantized_tensor(
            values, scale.double(), torch.zeros(values.shape[0], dtype=torch.long), 0)
        try:
            torch.backends.quantized.engine = kernel  # the engine picks the packed layout
            data = torch.ops.quantized.linear_prepack(qweight, bias)
        finally:
            torch.backends.quantized.engine = previous
    return PackedWeight(kernel, data)


def run(packed: PackedWeight, x: torch.Tensor) -> torch.Tensor:
    """y = x @ W.T + b on the packed weight's kernel, x quantized per tensor on the fly.

    packed (PackedWeight): From `pack`.
    x (torch.Tensor): (..., in) float32 activations, contiguous.
    RETURNS (torch.Tensor): (..., out) float32.
    """
    # fbgemm's AVX2 code sums pairs of u8 x s8 products in 16 bits: 7-bit activations
    # (reduce_range) keep those sums from saturating, as quantize_dynamic does on x86.
    return torch.ops.quantized.linear_dynamic(x, packed.data, packed.kernel == "fbgemm")
