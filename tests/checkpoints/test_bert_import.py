"""init-model --from on BERT checkpoints: an exact ALBERT conversion, and clear refusals (issue 12).

Every checkpoint here is a tiny random BERT with a tiny WordPiece vocabulary, built in a
temporary directory: no hub, no packaged weights.
"""

import json
from pathlib import Path

import numpy
import pytest
import spacy
import torch
from safetensors.torch import load_file, save_file
from transformers import (
    AlbertModel,
    AutoTokenizer,
    BertConfig,
    BertForMaskedLM,
    BertModel,
    BertTokenizerFast,
    DistilBertConfig,
    GPT2Config,
    RobertaConfig,
)
from typer.testing import CliRunner

from spacy_albert.checkpoints.builder import TRAINING_RECIPE_FILE
from spacy_albert.checkpoints.pretrained import import_pretrained
from spacy_albert.cli import app
from tests.conftest import train_pipeline

WORDS = ["the", "of", "in", "and", "shares", "energy", "fell", "after", "laura", "chen",
         "called", "quarter", "lisbon", "loved", "match"]
LETTERS = "abcdefghijklmnopqrstuvwxyz"
VOCAB = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list(LETTERS) + list(LETTERS.upper())
         + list("0123456789.,!?'-") + ["##" + c for c in LETTERS] + WORDS)
TEXTS = ["Shares of Nordwind Energy fell after CEO Laura Chen called the quarter bad.",
         "Fans in Lisbon loved the match!",
         "the 3 quarters"]


def tiny_bert_config(**overrides) -> BertConfig:
    settings = dict(vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2,
                    num_attention_heads=2, intermediate_size=64, layer_norm_eps=1e-7)
    return BertConfig(**{**settings, **overrides})


def perturbed(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random values in every weight, so LayerNorms and biases cannot be mixed up unseen."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.1 * torch.randn(param.shape, generator=generator))
    return model.eval()


def save_bert(path: Path, model: torch.nn.Module, lower: bool = True) -> Path:
    """A BERT checkpoint directory: weights, config and a WordPiece tokenizer."""
    path.mkdir(parents=True, exist_ok=True)
    vocab_file = path / "vocab.txt"
    vocab_file.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(vocab_file), do_lower_case=lower).save_pretrained(path)
    model.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    model = perturbed(BertModel(tiny_bert_config()))
    return save_bert(tmp_path_factory.mktemp("bert") / "bert", model)


@pytest.fixture(scope="module")
def converted_dir(bert_dir, tmp_path_factory) -> Path:
    return import_pretrained(bert_dir, tmp_path_factory.mktemp("albert") / "from-bert").path


def batch_with_types(tokenizer) -> dict[str, torch.Tensor]:
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    assert batch["attention_mask"].min() == 0  # padded: the mask matters
    batch["token_type_ids"][0, 5:] = 1
    return batch


def max_difference(bert: torch.nn.Module, albert: AlbertModel, batch) -> float:
    with torch.inference_mode():
        expected = bert(**batch).last_hidden_state
        got = albert(**batch).last_hidden_state
    real = batch["attention_mask"].bool()
    return (got - expected).abs()[real].max().item()


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_converted_albert_gives_bert_hidden_states(bert_dir, converted_dir, attention):
    bert = BertModel.from_pretrained(bert_dir, attn_implementation=attention).eval()
    albert = AlbertModel.from_pretrained(converted_dir, attn_implementation=attention).eval()
    batch = batch_with_types(AutoTokenizer.from_pretrained(converted_dir))
    assert max_difference(bert, albert, batch) <= 1e-5
    with torch.inference_mode():
        assert torch.allclose(albert(**batch).pooler_output, bert(**batch).pooler_output,
                              atol=1e-5)


def test_config_is_bert_shaped_albert(converted_dir):
    config = json.loads((converted_dir / "config.json").read_text())
    source = tiny_bert_config()
    assert config["model_type"] == "albert"
    assert config["embedding_size"] == config["hidden_size"] == 32
    assert config["num_hidden_groups"] == config["num_hidden_layers"] == 2
    assert config["inner_group_num"] == 1
    assert config["hidden_act"] == "gelu"  # BERT's exact GELU, not ALBERT's tanh one
    for key in ("layer_norm_eps", "type_vocab_size", "max_position_embeddings", "vocab_size"):
        assert config[key] == getattr(source, key), key
    assert config["tokenizer_class"] == "BertTokenizer"
    recipe = json.loads((converted_dir / TRAINING_RECIPE_FILE).read_text())
    assert recipe["init"] == "pretrained" and recipe["overrides"] == {}


@pytest.mark.parametrize("lower", [True, False])
def test_tokenizer_is_kept_with_its_casing(tmp_path, lower):
    source = save_bert(tmp_path / "bert", perturbed(BertModel(tiny_bert_config())), lower=lower)
    out = import_pretrained(source, tmp_path / "albert").path
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert isinstance(tokenizer, BertTokenizerFast)
    assert tokenizer.model_max_length == 512
    assert (out / "vocab.txt").read_text(encoding="utf-8").split() == VOCAB
    original = AutoTokenizer.from_pretrained(source)
    assert tokenizer(TEXTS)["input_ids"] == original(TEXTS)["input_ids"]
    lowercases = tokenizer.tokenize("LAURA") == tokenizer.tokenize("laura")
    assert lowercases == lower


def test_masked_lm_checkpoint_converts_and_reports_what_it_leaves_out(tmp_path):
    mlm = perturbed(BertForMaskedLM(tiny_bert_config()))
    source = save_bert(tmp_path / "mlm", mlm)
    imported = import_pretrained(source, tmp_path / "albert")
    albert = AlbertModel.from_pretrained(imported.path).eval()
    batch = batch_with_types(AutoTokenizer.from_pretrained(imported.path))
    assert max_difference(mlm.bert, albert, batch) <= 1e-5
    notes = " ".join(imported.notes)
    assert "cls.predictions.*" in notes and "No pooler" in notes


def test_sentence_transformers_layout_converts_its_encoder(tmp_path):
    root = tmp_path / "st"
    bert = perturbed(BertModel(tiny_bert_config()))
    save_bert(root / "0_Transformer", bert)
    (root / "1_Pooling").mkdir()
    (root / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "0_Transformer",
         "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.models.Pooling"},
    ]))
    result = CliRunner().invoke(app, ["init-model", str(tmp_path / "albert"), "--from", str(root)])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "converted into an ALBERT" in output and "1_Pooling" in output
    assert "shipped configs as they are" in output
    albert = AlbertModel.from_pretrained(tmp_path / "albert").eval()
    batch = batch_with_types(AutoTokenizer.from_pretrained(tmp_path / "albert"))
    assert max_difference(bert, albert, batch) <= 1e-5


def test_plugin_runs_the_converted_checkpoint_like_the_bert(bert_dir, converted_dir, tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("albert_transformer", config={"model": {"name": str(converted_dir)}})
    nlp.initialize()
    nlp.to_disk(tmp_path / "pipeline")
    bert = BertModel.from_pretrained(bert_dir).eval()
    for pipeline in (nlp, spacy.load(tmp_path / "pipeline")):
        doc = pipeline(TEXTS[0])
        trf = doc._.trf_data
        assert min(trf.align.lengths.tolist()) >= 1  # every token has its pieces
        pieces = trf.wordpieces
        with torch.inference_mode():
            expected = bert(input_ids=torch.tensor(pieces.input_ids),
                            attention_mask=torch.tensor(pieces.attention_mask)).last_hidden_state
        got = trf.model_output.last_hidden_state
        mask = numpy.asarray(pieces.attention_mask, dtype=bool)
        assert numpy.abs(got[mask] - expected.numpy()[mask]).max() <= 1e-5


def test_shipped_config_trains_on_the_converted_checkpoint(converted_dir, en_docbins, tmp_path):
    best = train_pipeline("textcat_ner.cfg", "en", converted_dir, en_docbins, tmp_path / "out",
                          **{"training.max_steps": 20, "training.eval_frequency": 10})
    doc = spacy.load(best)(TEXTS[0])
    assert sum(doc.cats.values()) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("config, reason", [
    (GPT2Config(n_layer=1, n_embd=32, n_head=2), "'gpt2' is not an ALBERT or BERT architecture"),
    (RobertaConfig(num_hidden_layers=1, hidden_size=32, num_attention_heads=2),
     "padding_idx + 1"),
    (DistilBertConfig(n_layers=1, dim=32, n_heads=2), "no token-type embeddings"),
])
def test_other_families_are_refused_with_the_reason(tmp_path, config, reason):
    config.save_pretrained(tmp_path / "src")
    with pytest.raises(ValueError) as info:
        import_pretrained(tmp_path / "src", tmp_path / "out")
    message = str(info.value)
    assert reason in message and "BERT-architecture ones (model_type 'bert'" in message
    assert not (tmp_path / "out").exists()
    result = CliRunner().invoke(app, ["init-model", str(tmp_path / "out"), "--from",
                                      str(tmp_path / "src")])
    assert result.exit_code == 1 and reason in " ".join(result.output.split())


def test_missing_vocabulary_is_a_clear_error(tmp_path):
    perturbed(BertModel(tiny_bert_config())).save_pretrained(tmp_path / "src")
    with pytest.raises(ValueError, match="no WordPiece vocabulary"):
        import_pretrained(tmp_path / "src", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def edit_config(path: Path, **changes) -> None:
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, **changes}))


@pytest.mark.parametrize("changes, expected", [
    ({"vocab_size": len(VOCAB) + 20},
     f"embeddings.word_embeddings.weight is ({len(VOCAB)}, 32), config.json implies "
     f"({len(VOCAB) + 20}, 32)"),
    ({"intermediate_size": 48}, "encoder.layer.0.intermediate.dense.weight is (64, 32)"),
    ({"vocab_size": 50},
     f"the tokenizer has {len(VOCAB)} pieces but config.json's vocab_size is 50"),
])
def test_weights_that_do_not_fit_the_config_are_a_clear_error(bert_dir, tmp_path, changes,
                                                                expected):
    source = tmp_path / "src"
    source.mkdir()
    for path in bert_dir.iterdir():
        (source / path.name).write_bytes(path.read_bytes())
    edit_config(source, **changes)
    with pytest.raises(ValueError) as info:
        import_pretrained(source, tmp_path / "out")
    assert expected in str(info.value)
    assert not (tmp_path / "out").exists()


def test_missing_encoder_weights_are_a_clear_error(bert_dir, tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for path in bert_dir.iterdir():
        (source / path.name).write_bytes(path.read_bytes())
    state = load_file(source / "model.safetensors")
    del state["encoder.layer.1.output.dense.weight"]
    save_file(state, source / "model.safetensors")
    with pytest.raises(ValueError, match=r"lacks 1 BERT encoder weights, e\.g\. "
                       r"encoder\.layer\.1\.output\.dense\.weight"):
        import_pretrained(source, tmp_path / "out")
