"""The int8 fast path (models/int8.py, `quantize` CLI) and bf16 `inference_dtype`."""

import copy
import json
import warnings
from pathlib import Path

import pytest
import spacy
import srsly
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import nn
from transformers import AutoModel
from typer.testing import CliRunner

from spacy_albert.cli import app
from spacy_albert.models.int8 import (
    Int8Embedding,
    Int8Linear,
    quantization_method,
    quantize_model,
    quantize_pipeline,
    quantize_rows,
)
from tests.conftest import CORPUS


def dev_texts() -> list[str]:
    lines = (CORPUS / "en" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()]


def predictions(nlp, texts: list[str]) -> list[tuple[dict[str, float], list]]:
    return [
        (doc.cats, [(ent.start, ent.end, ent.label_) for ent in doc.ents])
        for doc in nlp.pipe(texts, batch_size=16)
    ]


def agreement(a, b) -> tuple[float, float]:
    """Share of docs with the same top category, and with exactly the same entities."""
    same_cat = sum(max(x[0], key=x[0].get) == max(y[0], key=y[0].get) for x, y in zip(a, b))
    same_ents = sum(x[1] == y[1] for x, y in zip(a, b))
    return same_cat / len(a), same_ents / len(a)


@pytest.fixture(scope="module")
def int8_pipeline_dir(en_pipeline_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("int8") / "en"
    nlp = spacy.load(en_pipeline_dir)
    assert quantize_pipeline(nlp) == 1
    nlp.to_disk(out)
    return out


@pytest.fixture
def always_use_kernel(monkeypatch):
    """Run the int8 kernel even on the tiny test model's small layers."""
    monkeypatch.setattr(Int8Linear, "kernel_min_weights", 0)


def test_quantize_rows_reconstructs_weights():
    weight = torch.randn(32, 48)
    values, scale = quantize_rows(weight)
    assert values.dtype == torch.int8 and scale.shape == (32,)
    error = (values.float() * scale[:, None] - weight).abs().max(dim=1).values
    assert bool((error <= scale * 0.5 + 1e-6).all())


@pytest.mark.parametrize("kernel", [None, "float"])
def test_int8_linear_close_to_float(always_use_kernel, kernel):
    torch.manual_seed(0)
    linear = nn.Linear(64, 96)
    layer = Int8Linear.from_float(linear)
    layer.kernel = kernel  # None: this CPU's default kernel
    x = torch.randn(3, 7, 64)
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected, got = linear(x), layer(x)
    assert got.shape == expected.shape and got.dtype == torch.float32
    assert float((got - expected).abs().max()) < 0.05 * float(expected.abs().max())


def test_int8_linear_runs_with_gradients_and_after_deepcopy(always_use_kernel):
    layer = Int8Linear.from_float(nn.Linear(16, 8))
    x = torch.randn(4, 16, requires_grad=True)
    layer(x).sum().backward()  # frozen int8 weights; the input still gets a gradient
    assert x.grad is not None
    with torch.inference_mode():
        before = layer(x.detach())
    copied = copy.deepcopy(layer)
    with torch.inference_mode():
        assert torch.equal(copied(x.detach()), before)


def test_int8_embedding_close_to_float():
    embedding = nn.Embedding(50, 12, padding_idx=0)
    table = Int8Embedding.from_float(embedding)
    ids = torch.tensor([[1, 2, 49], [0, 5, 5]])
    assert torch.allclose(table(ids), embedding(ids), atol=0.02)
    assert table.weight.shape == (50, 12)


def test_quantized_state_dict_round_trips_through_safetensors(en_model_dir, always_use_kernel):
    model = quantize_model(AutoModel.from_pretrained(en_model_dir).eval())
    assert quantization_method(model) == "int8-dynamic"
    state = model.state_dict()
    assert all(isinstance(value, torch.Tensor) for value in state.values())
    assert any(value.dtype == torch.int8 for value in state.values())
    blob = save_safetensors({k: v.contiguous() for k, v in state.items()})
    fresh = quantize_model(AutoModel.from_pretrained(en_model_dir).eval())
    fresh.load_state_dict(load_safetensors(blob))
    ids = torch.tensor([[2, 10, 11, 12, 3]])
    with torch.inference_mode():
        assert torch.equal(
            model(input_ids=ids).last_hidden_state, fresh(input_ids=ids).last_hidden_state
        )


def test_quantized_pipeline_loads_and_predicts(int8_pipeline_dir):
    nlp = spacy.load(int8_pipeline_dir)
    encoder = nlp.get_pipe("transformer").model.transformer
    assert quantization_method(encoder) == "int8-dynamic"
    assert any(isinstance(module, Int8Linear) for module in encoder.modules())
    assert nlp.meta["spacy_albert"]["quantization"] == "int8-dynamic"
    for doc in nlp.pipe(dev_texts()):
        assert doc.cats and sum(doc.cats.values()) == pytest.approx(1.0, abs=1e-4)
        for ent in doc.ents:
            assert doc.char_span(ent.start_char, ent.end_char) is not None


@pytest.mark.parametrize("kernel_everywhere", [False, True])
def test_quantized_predictions_agree_with_float(
    en_nlp, int8_pipeline_dir, monkeypatch, kernel_everywhere
):
    if kernel_everywhere:
        monkeypatch.setattr(Int8Linear, "kernel_min_weights", 0)
    texts = dev_texts()
    same_cat, same_ents = agreement(
        predictions(en_nlp, texts), predictions(spacy.load(int8_pipeline_dir), texts)
    )
    assert same_cat >= 0.9
    assert same_ents >= 0.8


def shim_message(model_file: Path) -> dict:
    """The AlbertShim's own msgpack message inside a saved thinc model file."""
    node_shims = srsly.msgpack_loads(model_file.read_bytes())["shims"]
    (shim_bytes,) = [data for shims in node_shims for data in shims]
    return srsly.msgpack_loads(shim_bytes)


def test_quantized_pipeline_is_smaller_on_disk(en_pipeline_dir, int8_pipeline_dir):
    float_file = en_pipeline_dir / "transformer" / "model"
    int8_file = int8_pipeline_dir / "transformer" / "model"
    assert int8_file.stat().st_size < float_file.stat().st_size
    float_msg, int8_msg = shim_message(float_file), shim_message(int8_file)
    assert int8_msg["state_format"] == "safetensors" and int8_msg["quantization"] == "int8-dynamic"
    # The weights themselves (tokenizer files aside) take under a third of the bytes.
    assert len(int8_msg["state"]) * 3 <= len(float_msg["state"])


def test_quantize_cli(en_pipeline_dir, tmp_path):
    out = tmp_path / "int8"
    result = CliRunner().invoke(app, ["quantize", str(en_pipeline_dir), str(out)])
    assert result.exit_code == 0, result.output
    assert spacy.load(out)("Nora Bergman ran in Perth.").cats
    bad = CliRunner().invoke(app, ["quantize", str(en_pipeline_dir), str(tmp_path / "x"),
                                   "--method", "int4"])
    assert bad.exit_code != 0


def test_bf16_inference_is_close_to_float(en_nlp, en_pipeline_dir):
    config = {"components": {"transformer": {"model": {"inference_dtype": "bfloat16"}}}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CPUs without bf16 fall back to float32, warning
        bf16_nlp = spacy.load(en_pipeline_dir, config=config)
        assert bf16_nlp.get_pipe("transformer").model.attrs["inference_dtype"] == "bfloat16"
        texts = dev_texts()
        float_preds, bf16_preds = predictions(en_nlp, texts), predictions(bf16_nlp, texts)
    max_diff = max(
        abs(a[0][label] - b[0][label]) for a, b in zip(float_preds, bf16_preds) for label in a[0]
    )
    assert max_diff < 0.05
    same_cat, same_ents = agreement(float_preds, bf16_preds)
    assert same_cat >= 0.95 and same_ents >= 0.9
