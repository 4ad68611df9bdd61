"""What this CPU offers the fast paths: its ISA flags and PyTorch's CPU backends.

`current_cpu()` describes the machine once per process; the int8 kernel choice, the bf16
check and every benchmark results file read it. The libraries behind the fast paths can be
told to use less than the CPU has (`ONEDNN_MAX_CPU_ISA=AVX2`, `ATEN_CPU_CAPABILITY=avx2`,
`FBGEMM_ENABLE_INSTRUCTIONS=AVX2`, `MKL_ENABLE_INSTRUCTIONS=AVX2`), which is how an
AVX2-only cloud CPU is emulated on a newer one. Such caps are honoured here: the
description then reports the flags the libraries will actually use, and says it is
emulated.
"""

import os
import platform
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any, Optional

import torch

# The library caps that emulate an older CPU, in the order they are reported.
EMULATION_VARS = ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "FBGEMM_ENABLE_INSTRUCTIONS",
                  "MKL_ENABLE_INSTRUCTIONS")
# The caps that make a newer x86 CPU behave like an AVX2-only one (e.g. an AMD EPYC guest)
# for every library on the fast paths: MKL runs the float32 matmuls, oneDNN bf16 and int8,
# fbgemm int8, ATen the element-wise ops.
AVX2_EMULATION = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2",
                  "FBGEMM_ENABLE_INSTRUCTIONS": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}
# Instruction-set levels from oldest to newest, with the flags each one adds.
ISA_LEVELS: tuple[tuple[str, frozenset[str]], ...] = (
    ("avx2", frozenset({"avx2", "fma"})),
    ("avx2_vnni", frozenset({"avx_vnni"})),
    ("avx512_core", frozenset({"avx512f", "avx512bw"})),
    ("avx512_core_vnni", frozenset({"avx512_vnni"})),
    ("avx512_core_bf16", frozenset({"avx512_bf16"})),
    ("avx512_core_amx", frozenset({"amx_tile", "amx_int8", "amx_bf16"})),
)
FLAGS = tuple(flag for _, added in ISA_LEVELS for flag in sorted(added))
# Emulation-variable values -> the newest ISA level they allow ("sse": below AVX2;
# None: no cap). Values not listed cap nothing.
_CAPS: dict[str, Optional[str]] = {
    "sse41": "sse", "sse4_2": "sse", "avx": "sse", "default": "sse",
    "avx2": "avx2", "avx2_vnni": "avx2_vnni", "avx2_vnni_2": "avx2_vnni", "avx2_e1": "avx2_vnni",
    "avx512": "avx512_core", "avx512_core": "avx512_core", "avx512_256": "avx512_core",
    "avx512_e1": "avx512_core_vnni", "avx512_core_vnni": "avx512_core_vnni",
    "avx512_core_bf16": "avx512_core_bf16", "avx10_1_512": "avx512_core_bf16",
    "avx512_core_amx": None, "avx10_1_512_amx": None, "all": None,
}
# ATen's own capability names mean "vectorize up to here", not "hide newer flags".
_ATEN_CAPS: dict[str, Optional[str]] = {"default": "sse", "avx2": "avx2", "avx512": None}


@dataclass(frozen=True)
class CpuInfo:
    """This machine's CPU as the fast paths see it.

    model (str): The CPU model name.
    cores (int): Logical cores.
    flags (tuple[str, ...]): The ISA flags of FLAGS the libraries will use (emulation caps applied).
    hardware_flags (tuple[str, ...]): The ISA flags of FLAGS the CPU reports.
    flags_source (str): "cpuinfo" (/proc/cpuinfo) or "torch" (ATen's capability, elsewhere).
    emulation (tuple[tuple[str, str], ...]): The EMULATION_VARS that are set, with their values.
    aten_capability (str): ATen's vector capability ("AVX2", "AVX512", ...).
    onednn (bool): Whether PyTorch was built with oneDNN (mkldnn).
    onednn_bf16 (bool): Whether oneDNN runs bf16 natively here (emulation caps applied).
    quantized_engines (tuple[str, ...]): `torch.backends.quantized.supported_engines`.
    torch_version (str): PyTorch's version.
    """

    model: str
    cores: int
    flags: tuple[str, ...]
    hardware_flags: tuple[str, ...]
    flags_source: str
    emulation: tuple[tuple[str, str], ...]
    aten_capability: str
    onednn: bool
    onednn_bf16: bool
    quantized_engines: tuple[str, ...]
    torch_version: str

    @property
    def emulated(self) -> bool:
        """Whether library caps make the CPU look older than it is."""
        return bool(self.emulation)

    @property
    def has_avx2(self) -> bool:
        return "avx2" in self.flags

    @property
    def has_int8_dot(self) -> bool:
        """Whether the CPU has an int8 dot-product instruction (VNNI or AMX-INT8)."""
        return bool({"avx512_vnni", "avx_vnni", "amx_int8"} & set(self.flags))

    @property
    def native_bf16(self) -> bool:
        """Whether bf16 matmuls run natively (AVX-512 BF16 or AMX) through oneDNN."""
        return self.onednn_bf16 and bool({"avx512_bf16", "amx_bf16"} & set(self.flags))

    def summary(self) -> str:
        """One line: model, the flags in use, and the emulation if any."""
        emulation = (" (emulated: " + " ".join(f"{k}={v}" for k, v in self.emulation) + ")"
                     if self.emulated else "")
        return f"{self.model}, {self.cores} cores, {' '.join(self.flags) or 'no AVX2'}{emulation}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, for the meta block of results files."""
        data = asdict(self)
        data["emulation"] = dict(self.emulation)
        data.update(emulated=self.emulated, has_int8_dot=self.has_int8_dot,
                    native_bf16=self.native_bf16, summary=self.summary())
        return data


def parse_cpuinfo(text: str) -> tuple[str, frozenset[str]]:
    """The model name and flags of the first processor in /proc/cpuinfo text."""
    model, flags = "", frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key == "flags" and not flags:
            flags = frozenset(value.split())
        if model and flags:
            break
    return model, flags


def emulation_vars(environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The EMULATION_VARS set (non-empty) in environ."""
    return tuple((name, environ[name]) for name in EMULATION_VARS if environ.get(name))


def isa_cap(emulation: tuple[tuple[str, str], ...]) -> Optional[str]:
    """The strictest ISA level the emulation variables allow (None: no cap)."""
    order = ["sse"] + [level for level, _ in ISA_LEVELS]
    caps = [(_ATEN_CAPS if name == "ATEN_CPU_CAPABILITY" else _CAPS).get(value.lower())
            for name, value in emulation]
    known = [cap for cap in caps if cap is not None]
    return min(known, key=order.index) if known else None


def capped_flags(flags: frozenset[str], cap: Optional[str]) -> tuple[str, ...]:
    """The FLAGS among `flags` that an ISA level `cap` allows, in FLAGS order."""
    allowed = set(FLAGS)
    if cap is not None:
        levels = [level for level, _ in ISA_LEVELS]
        newest = levels.index(cap) if cap in levels else -1
        allowed = {flag for level, added in ISA_LEVELS[: newest + 1] for flag in added}
    return tuple(flag for flag in FLAGS if flag in flags and flag in allowed)


def _torch_flags(capability: str) -> frozenset[str]:
    """A lower bound on the flags, from ATen's capability (where /proc/cpuinfo is missing)."""
    if capability.startswith("AVX512"):
        return frozenset({"avx2", "fma", "avx512f", "avx512bw"})
    return frozenset({"avx2", "fma"}) if capability.startswith("AVX2") else frozenset()


def _onednn_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def detect_cpu(environ: Mapping[str, str] = os.environ,
               cpuinfo: Path = Path("/proc/cpuinfo")) -> CpuInfo:
    """Describe this CPU and PyTorch's CPU backends (see CpuInfo).

    environ (Mapping[str, str]): Where the emulation variables are read.
    cpuinfo (Path): /proc/cpuinfo (elsewhere, flags come from ATen's capability).
    RETURNS (CpuInfo): The description.
    """
    try:
        model, flags = parse_cpuinfo(cpuinfo.read_text(encoding="utf-8", errors="replace"))
        source = "cpuinfo"
    except OSError:
        model, flags, source = "", frozenset(), "torch"
    capability = torch.backends.cpu.get_cpu_capability()
    if not flags:
        flags, source = _torch_flags(capability), "torch"
    emulation = emulation_vars(environ)
    usable = capped_flags(flags, isa_cap(emulation))
    return CpuInfo(
        model=model or platform.processor() or platform.machine(),
        cores=os.cpu_count() or 1,
        flags=usable,
        hardware_flags=capped_flags(flags, None),
        flags_source=source,
        emulation=emulation,
        aten_capability=capability,
        onednn=torch.backends.mkldnn.is_available(),
        onednn_bf16=_onednn_bf16() and bool({"avx512_bf16", "amx_bf16"} & set(usable)),
        quantized_engines=tuple(torch.backends.quantized.supported_engines),
        torch_version=torch.__version__,
    )


@cache
def current_cpu() -> CpuInfo:
    """This process's CPU description (detected once: the libraries read their caps at start)."""
    return detect_cpu()
