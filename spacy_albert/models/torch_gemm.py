"""The heads' matrix products on torch's BLAS, in the encoder's thread pool.

thinc's `NumpyOps.gemm` multiplies with BLIS, which picks its kernel from the CPU it
detects. On an AVX2-only AMD EPYC VM it runs the heads' shapes (the ner's input
projection: ~1,300 tokens x 768 -> 64 a joint batch) at 13-24 GFLOP/s, where `torch.mm`
on the same 2 threads reaches 70-130. torch's products also run on the threads the
encoder already uses, so no second BLAS thread pool competes with them.
"""

from typing import Any, Literal, Optional

import numpy
import torch
from thinc.api import Model, NumpyOps

CpuGemm = Literal["torch", "thinc"]


def _as_tensor(array: numpy.ndarray) -> torch.Tensor:
    # torch.from_numpy shares memory; a read-only array (weights loaded from bytes) is
    # copied, as torch would warn on it.
    return torch.from_numpy(array if array.flags.writeable else array.copy())


class TorchGemmOps(NumpyOps):
    """thinc's CPU ops with float32 matrix products computed by `torch.mm`."""

    name = "torch_gemm"

    def gemm(self, x: numpy.ndarray, y: numpy.ndarray, *, out: Optional[numpy.ndarray] = None,
             trans1: bool = False, trans2: bool = False) -> Any:
        arrays = (x, y) if out is None else (x, y, out)
        if any(not isinstance(a, numpy.ndarray) or a.dtype != numpy.float32 or a.ndim != 2
               for a in arrays) or (out is not None and not out.flags.c_contiguous):
            return super().gemm(x, y, out=out, trans1=trans1, trans2=trans2)
        left, right = _as_tensor(x), _as_tensor(y)
        left, right = left.T if trans1 else left, right.T if trans2 else right
        if out is None:
            return torch.mm(left, right).numpy()
        torch.mm(left, right, out=torch.from_numpy(out))
        return out


def use_cpu_gemm(model: Model, cpu_gemm: CpuGemm) -> None:
    """Give the layers of `model` that run on thinc's plain CPU ops the chosen matrix
    products: "torch" (`TorchGemmOps`) or "thinc" (BLIS). Layers on other ops (a GPU's,
    Apple's) keep theirs."""
    if cpu_gemm not in ("torch", "thinc"):
        raise ValueError(f"cpu_gemm must be 'torch' or 'thinc', not {cpu_gemm!r}.")
    ops = TorchGemmOps() if cpu_gemm == "torch" else NumpyOps()
    for node in model.walk():
        if type(node.ops) in (NumpyOps, TorchGemmOps):
            node.ops = ops
