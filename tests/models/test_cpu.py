"""CPU detection (models/cpu.py): flags, emulation caps, and what results files record."""

import json
from pathlib import Path

import pytest

from spacy_albert.models.cpu import (
    AVX2_EMULATION,
    CpuInfo,
    capped_flags,
    current_cpu,
    detect_cpu,
    isa_cap,
    parse_cpuinfo,
)
from spacy_albert.models.precision import cpu_supports_bf16

SAPPHIRE_RAPIDS = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse4_2 avx f16c fma avx2 avx512f avx512bw avx512_vnni avx512_bf16 amx_tile \
amx_int8 amx_bf16 avx_vnni

processor\t: 1
model name\t: ignored
flags\t\t: ignored
"""
EPYC_GUEST = """processor\t: 0
model name\t: AMD EPYC 7763 64-Core Processor
flags\t\t: fpu sse4_2 avx f16c fma avx2 bmi2
"""


@pytest.fixture
def cpuinfo(tmp_path: Path):
    def write(text: str) -> Path:
        path = tmp_path / "cpuinfo"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def test_parse_cpuinfo_reads_the_first_processor() -> None:
    model, flags = parse_cpuinfo(SAPPHIRE_RAPIDS)
    assert model == "Intel(R) Xeon(R) Platinum 8480+"
    assert {"avx2", "amx_int8", "avx512_bf16"} <= flags and "ignored" not in flags


def test_detect_a_native_amx_cpu(cpuinfo) -> None:
    cpu = detect_cpu({}, cpuinfo(SAPPHIRE_RAPIDS))
    assert cpu.model == "Intel(R) Xeon(R) Platinum 8480+" and cpu.flags_source == "cpuinfo"
    assert cpu.flags == cpu.hardware_flags and not cpu.emulated
    assert cpu.has_avx2 and cpu.has_int8_dot
    assert "amx_int8" in cpu.summary() and "emulated" not in cpu.summary()


def test_detect_an_avx2_only_cpu(cpuinfo) -> None:
    cpu = detect_cpu({}, cpuinfo(EPYC_GUEST))
    assert cpu.flags == ("avx2", "fma")
    assert cpu.has_avx2 and not cpu.has_int8_dot and not cpu.native_bf16


def test_avx2_emulation_hides_newer_flags(cpuinfo) -> None:
    cpu = detect_cpu(AVX2_EMULATION, cpuinfo(SAPPHIRE_RAPIDS))
    assert cpu.emulated and dict(cpu.emulation) == AVX2_EMULATION
    assert cpu.flags == ("avx2", "fma")
    assert "amx_int8" in cpu.hardware_flags
    assert not cpu.has_int8_dot and not cpu.native_bf16
    assert "(emulated: ONEDNN_MAX_CPU_ISA=AVX2" in cpu.summary()


@pytest.mark.parametrize(("environ", "cap"), [
    ({}, None),
    ({"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_VNNI"}, "avx512_core_vnni"),
    ({"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_VNNI", "FBGEMM_ENABLE_INSTRUCTIONS": "AVX2"}, "avx2"),
    ({"ATEN_CPU_CAPABILITY": "avx512"}, None),  # ATen's avx512 hides nothing
    ({"ATEN_CPU_CAPABILITY": "default"}, "sse"),
    ({"ONEDNN_MAX_CPU_ISA": "ALL"}, None),
    ({"MKL_ENABLE_INSTRUCTIONS": "something-new"}, None),
])
def test_isa_cap_is_the_strictest_known_cap(environ: dict, cap) -> None:
    assert isa_cap(tuple(environ.items())) == cap


def test_capped_flags() -> None:
    flags = frozenset({"avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "amx_int8"})
    assert capped_flags(flags, "avx512_core_vnni") == (
        "avx2", "fma", "avx512bw", "avx512f", "avx512_vnni")
    assert capped_flags(flags, "sse") == ()
    assert capped_flags(flags, None)[-1] == "amx_int8"


def test_without_cpuinfo_flags_come_from_torch(tmp_path: Path) -> None:
    cpu = detect_cpu({}, tmp_path / "missing")
    assert cpu.flags_source == "torch" and cpu.model


def test_to_dict_is_json_ready() -> None:
    data = json.loads(json.dumps(current_cpu().to_dict()))
    for key in ("model", "flags", "emulation", "aten_capability", "quantized_engines",
                "has_int8_dot", "native_bf16", "summary"):
        assert key in data
    assert isinstance(data["emulation"], dict)


def test_bf16_check_reads_the_cpu_description(monkeypatch) -> None:
    fake = CpuInfo(model="x", cores=2, flags=("avx2", "fma"), hardware_flags=("avx2", "fma"),
                   flags_source="cpuinfo", emulation=(), aten_capability="AVX2", onednn=True,
                   onednn_bf16=True, quantized_engines=("fbgemm",), torch_version="2")
    monkeypatch.setattr("spacy_albert.models.precision.current_cpu", lambda: fake)
    assert not cpu_supports_bf16()  # oneDNN says yes, but no bf16 instruction: not native
