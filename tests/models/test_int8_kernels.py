"""The int8 kernels (models/int8_kernels.py): which one a CPU gets, and that each one
predicts what the dequantized weights predict, on new and on 0.1.0 int8 pipelines."""

import copy
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import spacy
import torch
from torch import nn
from typer.testing import CliRunner

import spacy_albert.models.int8_kernels as kernels_module
from spacy_albert.cli import app
from spacy_albert.models.cpu import AVX2_EMULATION, CpuInfo, current_cpu
from spacy_albert.models.int8 import Int8Linear, quantize_pipeline, use_int8_kernel
from spacy_albert.models.int8_kernels import (
    KERNELS,
    KernelChoice,
    available_kernels,
    choose_kernel,
    kernel_available,
)

from .test_int8 import dev_texts

ROOT = Path(__file__).resolve().parents[2]
LEGACY_INT8 = ROOT / "tests" / "fixtures" / "pipeline_v0_1_0_int8"
AVX2_ONLY = CpuInfo(model="AMD EPYC 7763", cores=2, flags=("avx2", "fma"),
                    hardware_flags=("avx2", "fma"), flags_source="cpuinfo", emulation=(),
                    aten_capability="AVX2", onednn=True, onednn_bf16=False,
                    quantized_engines=("qnnpack", "onednn", "x86", "fbgemm"),
                    torch_version="2.13.0")
VNNI = replace(AVX2_ONLY, model="Xeon", flags=("avx2", "fma", "avx512f", "avx512_vnni"))
NO_AVX2 = replace(AVX2_ONLY, model="old", flags=())


@pytest.mark.parametrize(("cpu", "available", "kernel"), [
    (VNNI, KERNELS, "onednn"),
    (VNNI, ("fbgemm", "float"), "fbgemm"),
    (AVX2_ONLY, KERNELS, "fbgemm"),
    (AVX2_ONLY, ("onednn", "float"), "float"),  # oneDNN int8 without VNNI is not trusted
    (NO_AVX2, KERNELS, "float"),
])
def test_choose_kernel(cpu: CpuInfo, available: tuple, kernel: str) -> None:
    choice = choose_kernel(cpu, available)
    assert choice.kernel == kernel
    assert choice.is_fast_path == (kernel != "float")


def test_fast_paths_state_their_expected_speed_up() -> None:
    line = choose_kernel(AVX2_ONLY, KERNELS).describe()
    assert line.startswith("fbgemm int8: expected ~") and "encoder speed over float32" in line
    assert "AVX2" in line


def test_a_fallback_is_never_called_a_fast_path() -> None:
    line = choose_kernel(NO_AVX2, KERNELS).describe()
    assert "no speed-up" in line and "not a fast path" in line and "expected ~" not in line


def test_kernels_this_cpu_should_have() -> None:
    cpu = current_cpu()
    assert "float" in available_kernels()
    if cpu.has_avx2 and "fbgemm" in cpu.quantized_engines:
        assert kernel_available("fbgemm")
    if cpu.has_int8_dot and cpu.onednn:
        assert kernel_available("onednn")


def test_avx2_emulation_picks_fbgemm_and_rejects_onednn() -> None:
    """On an AVX2-only CPU oneDNN's s8 x s8 matmul is off by several percent: the probe
    refuses it, and fbgemm is the default."""
    if not current_cpu().has_avx2 or "fbgemm" not in current_cpu().quantized_engines:
        pytest.skip("needs an x86 CPU with AVX2 and a PyTorch build with fbgemm")
    code = ("from spacy_albert.models.int8_kernels import default_choice, kernel_available;"
            "print(default_choice().kernel, kernel_available('onednn'))")
    env = {**os.environ, **AVX2_EMULATION, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == ["fbgemm", "False"]


def runnable_kernels() -> list:
    return [pytest.param(k, marks=pytest.mark.skipif(not kernel_available(k),
                                                     reason=f"no {k} int8 kernel here"))
            for k in KERNELS]


@pytest.mark.parametrize("kernel", runnable_kernels())
def test_each_kernel_matches_the_dequantized_matmul(kernel: str) -> None:
    torch.manual_seed(0)
    layer = Int8Linear.from_float(nn.Linear(256, 512))
    layer.kernel = kernel
    x = torch.randn(2, 9, 256)
    with torch.inference_mode():
        expected = torch.nn.functional.linear(x, layer.dequantized_weight(), layer.bias)
        got = layer(x)
        copied = copy.deepcopy(layer)  # packed weights are rebuilt, not copied
        assert torch.equal(copied(x), got)
    assert got.shape == expected.shape and got.dtype == torch.float32
    assert float((got - expected).abs().max()) <= 0.03 * float(expected.abs().max())


def test_use_int8_kernel_checks_the_name() -> None:
    model = nn.Sequential(Int8Linear(4, 4), Int8Linear(4, 2))
    assert use_int8_kernel(model, "float") == 2
    assert all(layer.kernel == "float" for layer in model)
    assert use_int8_kernel(model, None) == 2 and model[0].kernel is None
    with pytest.raises(ValueError, match="Unknown int8 kernel"):
        use_int8_kernel(model, "int4")


def doc_predictions(nlp, texts: list[str]) -> list[tuple[str, list]]:
    return [(max(doc.cats, key=doc.cats.get), [(e.start, e.end, e.label_) for e in doc.ents])
            for doc in nlp.pipe(texts, batch_size=16)]


def pinned(path: Path, kernel: str):
    nlp = spacy.load(path)
    use_int8_kernel(nlp.get_pipe("transformer").model.transformer, kernel)
    return nlp


@pytest.fixture
def kernel_on_every_layer(monkeypatch):
    """The tiny test models' layers are below the size where int8 pays: run it anyway."""
    monkeypatch.setattr(Int8Linear, "kernel_min_weights", 0)


@pytest.fixture(scope="module")
def int8_dir(en_pipeline_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("int8-kernels") / "en"
    nlp = spacy.load(en_pipeline_dir)
    quantize_pipeline(nlp)
    nlp.to_disk(out)
    return out


@pytest.mark.parametrize("kernel", runnable_kernels())
def test_each_kernel_predicts_as_the_dequantized_weights(int8_dir, kernel_on_every_layer,
                                                         kernel: str) -> None:
    """A kernel also quantizes the activations (per call), so a near-tie can flip: the
    top category agrees on every doc, the entities on at least 95 % of the docs (the
    matmuls themselves are checked above)."""
    texts = dev_texts()
    reference = doc_predictions(pinned(int8_dir, "float"), texts)
    got = doc_predictions(pinned(int8_dir, kernel), texts)
    assert [cat for cat, _ in got] == [cat for cat, _ in reference]
    same_entities = sum(ours[1] == theirs[1] for ours, theirs in zip(got, reference))
    assert same_entities >= 0.95 * len(texts)


@pytest.mark.parametrize("kernel", runnable_kernels())
def test_0_1_0_int8_pipeline_predicts_the_same_on_each_kernel(kernel_on_every_layer,
                                                               kernel: str) -> None:
    expected = json.loads((LEGACY_INT8 / "expected.json").read_text(encoding="utf8"))
    doc = pinned(LEGACY_INT8, kernel)(expected["text"])
    assert max(doc.cats, key=doc.cats.get) == max(expected["cats"], key=expected["cats"].get)
    assert [[e.start_char, e.end_char, e.label_] for e in doc.ents] == expected["ents"]


@pytest.mark.parametrize("choice", [
    KernelChoice("fbgemm", "AVX2 without VNNI/AMX", "~1.2-1.5x"),
    KernelChoice("float", "no AVX2", "none"),
])
def test_quantize_cli_says_which_kernel_runs_here(en_pipeline_dir, tmp_path, monkeypatch,
                                                  choice: KernelChoice) -> None:
    monkeypatch.setattr(kernels_module, "default_choice", lambda: choice)
    result = CliRunner().invoke(app, ["quantize", str(en_pipeline_dir), str(tmp_path / "q")])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert choice.describe() in output
    if not choice.is_fast_path:
        assert "fast path" not in output.replace("not a fast path", "")
