"""init-model: offline ALBERT checkpoints, English (SentencePiece) and Chinese (char WordPiece)."""

import json

import pytest
import torch
from spacy.util import load_config
from transformers import AlbertModel, AutoModel, AutoTokenizer
from typer.testing import CliRunner

from spacy_albert.checkpoints.builder import (
    RANDOM_INIT_RECIPE,
    SIZES,
    TRAINING_RECIPE_FILE,
    albert_config,
    init_model,
)
from spacy_albert.cli import app
from tests.conftest import CONFIGS, CORPUS


def test_english_layout_matches_albert_base_v2(en_model_dir):
    files = {p.name for p in en_model_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "spiece.model"} <= files
    tokenizer = AutoTokenizer.from_pretrained(str(en_model_dir))
    assert type(tokenizer).__name__ == "AlbertTokenizerFast"
    assert tokenizer.convert_ids_to_tokens([0, 1, 2, 3, 4]) == [
        "<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"
    ]
    assert tokenizer.model_max_length == 512
    ids = tokenizer("Hello World")["input_ids"]
    assert ids[0] == 2 and ids[-1] == 3
    assert tokenizer.tokenize("HELLO") == tokenizer.tokenize("hello")  # lowercases


def test_chinese_layout_matches_albert_chinese(zh_model_dir):
    files = {p.name for p in zh_model_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "vocab.txt"} <= files
    tokenizer = AutoTokenizer.from_pretrained(str(zh_model_dir))
    assert type(tokenizer).__name__ == "BertTokenizerFast"
    assert tokenizer.model_max_length == 512
    pieces = tokenizer.tokenize("华星科技iPhone")
    assert pieces[:4] == ["华", "星", "科", "技"]
    assert "[UNK]" not in pieces  # Latin falls back to ASCII pieces, never unknown


@pytest.mark.parametrize("model_fixture", ["en_model_dir", "zh_model_dir"])
def test_round_trip_loads_offline_and_runs(model_fixture, request, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model_dir = request.getfixturevalue(model_fixture)
    model = AutoModel.from_pretrained(str(model_dir))
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    assert isinstance(model, AlbertModel)
    assert model.config.hidden_size == SIZES["tiny"].hidden_size
    assert model.config.vocab_size == len(tokenizer)
    batch = tokenizer(["一个 test"], return_tensors="pt")
    with torch.inference_mode():
        out = model(**batch).last_hidden_state
    assert out.shape == (1, batch["input_ids"].shape[1], SIZES["tiny"].hidden_size)


def test_same_seed_same_model_other_seed_differs(tmp_path):
    corpus = CORPUS / "en" / "pretrain.txt"
    a = init_model(tmp_path / "a", corpus, lang="en", seed=1)
    b = init_model(tmp_path / "b", corpus, lang="en", seed=1)
    c = init_model(tmp_path / "c", corpus, lang="en", seed=2)
    assert (a / "spiece.model").read_bytes() == (b / "spiece.model").read_bytes()
    assert (a / "tokenizer.json").read_bytes() == (b / "tokenizer.json").read_bytes()
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    assert (a / "model.safetensors").read_bytes() != (c / "model.safetensors").read_bytes()


def test_base_size_is_albert_base_v2_shape():
    config = albert_config("base", 30000)
    assert (config.embedding_size, config.hidden_size, config.num_hidden_layers,
            config.num_attention_heads, config.intermediate_size) == (128, 768, 12, 12, 3072)
    assert config.max_position_embeddings == 512


def test_cli_builds_and_rejects_bad_input(tmp_path):
    runner = CliRunner()
    out = tmp_path / "m"
    result = runner.invoke(app, ["init-model", str(out), "--corpus",
                                 str(CORPUS / "zh" / "pretrain.txt"), "--lang", "zh",
                                 "--vocab-size", "500"])
    assert result.exit_code == 0, result.output
    vocab = (out / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert len(vocab) == 500 and vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert json.loads((out / "config.json").read_text())["vocab_size"] == 500
    # A random-init model: the overrides that make it learn are printed and saved.
    flags = ("--training.optimizer.learn_rate.initial_rate 0.001 "
             "--training.optimizer.learn_rate.warmup_steps 30 "
             "--components.transformer.learn_rate_scale 1")
    assert flags in result.output and RANDOM_INIT_RECIPE.cli_flags() == flags
    recipe = json.loads((out / TRAINING_RECIPE_FILE).read_text())
    assert recipe["init"] == "random" and recipe["overrides"] == dict(RANDOM_INIT_RECIPE.overrides)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    result = runner.invoke(app, ["init-model", str(tmp_path / "x"), "--corpus", str(empty)])
    assert result.exit_code == 1 and "no non-empty lines" in " ".join(result.output.split())
    result = runner.invoke(app, ["init-model", str(tmp_path / "y"), "--corpus", str(empty),
                                 "--lang", "fr"])
    assert result.exit_code == 1 and "lang must be one of" in " ".join(result.output.split())


@pytest.mark.parametrize("config_name", sorted(p.name for p in CONFIGS.glob("*.cfg")))
def test_random_init_overrides_name_settings_of_every_shipped_config(config_name):
    # spaCy adds an override for a missing key silently: check that each one replaces a value.
    config = load_config(CONFIGS / config_name, interpolate=False)
    for key in RANDOM_INIT_RECIPE.overrides:
        *sections, name = key.split(".")
        section = config
        for part in sections:
            section = section[part]
        assert name in section, (config_name, key)


def test_from_saves_a_pretrained_checkpoint_that_loads_offline(en_model_dir, tmp_path):
    out = tmp_path / "fetched"
    result = CliRunner().invoke(app, ["init-model", str(out), "--from", str(en_model_dir)])
    assert result.exit_code == 0, result.output
    assert "shipped configs as they are" in " ".join(result.output.split())
    assert json.loads((out / TRAINING_RECIPE_FILE).read_text())["init"] == "pretrained"
    source, fetched = AutoModel.from_pretrained(en_model_dir), AutoModel.from_pretrained(out)
    for (name, a), (_, b) in zip(source.state_dict().items(), fetched.state_dict().items()):
        assert torch.equal(a, b), name
    text = "Laura Chen joined Nordwind Energy in Lisbon."
    assert AutoTokenizer.from_pretrained(out)(text)["input_ids"] == AutoTokenizer.from_pretrained(
        en_model_dir
    )(text)["input_ids"]


def test_from_an_unresolvable_name_is_a_clear_error(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["init-model", str(tmp_path / "a"), "--from",
                                 "no-such-org/no-such-albert"])
    output = " ".join(result.output.split())
    assert result.exit_code == 1 and "HF_HUB_OFFLINE is set" in output
    assert "init-model" in output and not (tmp_path / "a").exists()
    result = runner.invoke(app, ["init-model", str(tmp_path / "c")])
    assert result.exit_code == 1 and "--corpus" in result.output
