"""export-onnx: the ONNX pipeline predicts what the torch pipeline predicts.

fp32: same category argmax and probabilities within 1e-3, same entities, on the dev
set plus long and empty docs (strided spans, dynamic batch and length). int8: loads,
runs and mostly agrees (quantization moves scores a little).
"""

import json
from pathlib import Path

import onnx
import pytest
import spacy
import srsly
from spacy.language import Language
from spacy.training import Example
from thinc.api import Adam
from typer.testing import CliRunner

import spacy_albert.models.onnx  # noqa: F401 - registers the architecture before install
from spacy_albert.cli import app
from spacy_albert.models.int8 import quantize_pipeline
from spacy_albert.models.onnx import ONNX_ARCH_NAME, OnnxAlbertTransformerModel
from spacy_albert.models.onnx_export import export_onnx_pipeline

ROOT = Path(__file__).resolve().parents[2]


def dev_texts(lang: str) -> list[str]:
    lines = (ROOT / "corpus" / lang / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines]
    # A doc far beyond one 128-token window and the 512-piece table, and an empty one.
    return texts + [" ".join(texts[:40]), ""]


Prediction = tuple[dict[str, float], list[tuple[int, int, str]]]


def predict(nlp: Language, texts: list[str]) -> list[Prediction]:
    return [
        (dict(doc.cats), [(e.start_char, e.end_char, e.label_) for e in doc.ents])
        for doc in nlp.pipe(texts, batch_size=16)
    ]


def argmax(cats: dict[str, float]) -> str:
    return max(cats, key=cats.__getitem__)


@pytest.fixture(scope="module", params=["en", "zh"])
def exported(request, tmp_path_factory) -> tuple[str, Path, Path]:
    lang = request.param
    source = request.getfixturevalue(f"{lang}_pipeline_dir")
    out = tmp_path_factory.mktemp("onnx") / lang
    result = export_onnx_pipeline(source, out)
    assert result.components == ("transformer",) and not result.int8
    return lang, source, out


def test_fp32_matches_torch(request, exported):
    lang, _, out = exported
    torch_nlp = request.getfixturevalue(f"{lang}_nlp")
    onnx_nlp = spacy.load(out)
    assert isinstance(onnx_nlp.get_pipe("transformer").model, OnnxAlbertTransformerModel)
    texts = dev_texts(lang)
    expected, got = predict(torch_nlp, texts), predict(onnx_nlp, texts)
    assert len(got) == len(expected) == len(texts)
    for (cats, ents), (exp_cats, exp_ents) in zip(got, expected):
        assert argmax(cats) == argmax(exp_cats)
        assert cats == pytest.approx(exp_cats, abs=1e-3)
        assert ents == exp_ents
    assert any(ents for _, ents in got), "the tiny pipeline should find some entities"


def test_saved_pipeline_holds_the_onnx_graph_not_torch_weights(exported):
    _, source, out = exported
    config = spacy.util.load_config(out / "config.cfg")
    block = config["components"]["transformer"]["model"]
    assert block["@architectures"] == ONNX_ARCH_NAME
    assert block["get_spans"]["@span_getters"] == "spacy-transformers.strided_spans.v1"
    nodes = srsly.msgpack_loads((out / "transformer" / "model").read_bytes())
    (shim_bytes,) = [shim for shims in nodes["shims"] for shim in shims]
    shim_msg = srsly.msgpack_loads(shim_bytes)
    assert "tokenizer.json" in shim_msg["tokenizer"]
    assert "state" not in shim_msg  # no torch weights
    graph = onnx.load_from_string(shim_msg["onnx"])
    assert max(op.version for op in graph.opset_import if op.domain in ("", "ai.onnx")) >= 17
    for value in (*graph.graph.input, *graph.graph.output):
        dims = [d.dim_param for d in value.type.tensor_type.shape.dim[:2]]
        assert dims == ["batch", "length"], value.name
    # Heads are saved unchanged.
    for head in ("ner", "textcat"):
        assert (out / head / "model").read_bytes() == (Path(source) / head / "model").read_bytes()


def test_onnx_pipeline_reloads_and_resaves(exported, tmp_path):
    lang, _, out = exported
    nlp = spacy.load(out)
    texts = dev_texts(lang)[:5]
    nlp.to_disk(tmp_path / "again")
    assert predict(spacy.load(tmp_path / "again"), texts) == predict(nlp, texts)


def test_onnx_pipeline_refuses_training_with_a_clear_error(exported):
    _, _, out = exported
    nlp = spacy.load(out)
    example = Example.from_dict(nlp.make_doc("Omar went home."), {"cats": {}})
    with pytest.raises(ValueError, match="prediction only"):
        nlp.update([example], sgd=Adam(0.001))


def test_int8_export_runs_and_agrees(request, tmp_path):
    torch_nlp = request.getfixturevalue("en_nlp")
    source = request.getfixturevalue("en_pipeline_dir")
    result = export_onnx_pipeline(source, tmp_path / "int8", int8=True)
    assert result.int8
    # Every (shared) layer weight quantized, none kept twice: well under half the bytes.
    fp32 = export_onnx_pipeline(source, tmp_path / "fp32")
    assert result.encoder_bytes < 0.5 * fp32.encoder_bytes
    texts = dev_texts("en")
    expected, got = predict(torch_nlp, texts), predict(spacy.load(tmp_path / "int8"), texts)
    same_cats = sum(argmax(c) == argmax(e) for (c, _), (e, _) in zip(got, expected))
    same_ents = sum(g == e for (_, g), (_, e) in zip(got, expected))
    assert same_cats >= 0.9 * len(texts)
    assert same_ents >= 0.9 * len(texts)
    for cats, _ in got:
        assert sum(cats.values()) == pytest.approx(1.0, abs=1e-4)


def test_int8_torch_pipeline_is_refused(request, tmp_path):
    nlp = spacy.load(request.getfixturevalue("en_pipeline_dir"))
    quantize_pipeline(nlp)
    nlp.to_disk(tmp_path / "torch-int8")
    with pytest.raises(ValueError, match="int8 torch encoder"):
        export_onnx_pipeline(tmp_path / "torch-int8", tmp_path / "out")


def test_cli_writes_a_loadable_pipeline(request, tmp_path):
    out = tmp_path / "cli"
    source = request.getfixturevalue("en_pipeline_dir")
    result = CliRunner().invoke(app, ["export-onnx", str(source), str(out)])
    assert result.exit_code == 0, result.output
    assert "onnxruntime (float32)" in result.output
    doc = spacy.load(out)("Omar Saleh said the final in Kingsport was a disaster.")
    assert doc.cats and sum(doc.cats.values()) == pytest.approx(1.0, abs=1e-4)
    same = CliRunner().invoke(app, ["export-onnx", str(source), str(source)])
    assert same.exit_code == 1 and "must differ" in same.output
