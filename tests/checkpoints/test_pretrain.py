"""Domain MLM pretraining (pretrain.py, `pretrain` CLI) on the shipped corpus."""

import json
from pathlib import Path

import pytest
import torch
from spacy.training import Example
from spacy.util import load_config, load_model_from_config
from transformers import AutoModel, AutoTokenizer
from typer.testing import CliRunner

from spacy_albert.checkpoints.pretrain import (
    Block,
    load_mlm_model,
    make_blocks,
    mask_batch,
    masked_lm_loss,
    pretrain,
)
from spacy_albert.cli import app
from tests.conftest import CONFIGS, CORPUS

PRETRAIN_TEXT = CORPUS / "en" / "pretrain.txt"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One intra-op thread: the tiny model gains nothing from two, and on a shared
    machine two threads can wait on each other for a long time."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def pretrained(en_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("pretrained") / "en-tiny-mlm"
    result = pretrain(en_model_dir, PRETRAIN_TEXT, out, steps=40, batch_size=16,
                      learn_rate=2e-3, max_length=64, seed=0)
    return result


def test_mlm_loss_goes_down(pretrained):
    losses = pretrained.losses
    assert len(losses) == 40
    first, last = sum(losses[:5]) / 5, sum(losses[-10:]) / 10
    assert last < first - 0.2, losses
    log = json.loads((pretrained.output_dir / "pretrain.json").read_text())
    assert log["steps"] == 40 and len(log["losses"]) == 40


def test_pretraining_is_deterministic_per_seed(en_model_dir, tmp_path):
    def run(seed: int, name: str):
        return pretrain(en_model_dir, PRETRAIN_TEXT, tmp_path / name, steps=3, batch_size=8,
                        max_length=48, seed=seed, whole_word_masking=True)

    a, b, c = run(0, "a"), run(0, "b"), run(1, "c")
    assert a.losses == b.losses
    assert a.losses != c.losses
    weights_a = AutoModel.from_pretrained(a.output_dir).state_dict()
    weights_b = AutoModel.from_pretrained(b.output_dir).state_dict()
    assert all(torch.equal(weights_a[key], weights_b[key]) for key in weights_a)


def test_output_loads_offline_with_auto_classes(pretrained, en_model_dir):
    out = pretrained.output_dir
    model = AutoModel.from_pretrained(out, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(out, local_files_only=True)
    original = AutoTokenizer.from_pretrained(en_model_dir, local_files_only=True)
    text = "Nora Bergman broke the national record in Perth."
    assert tokenizer(text)["input_ids"] == original(text)["input_ids"]
    assert tokenizer.model_max_length == 512
    assert (out / "spiece.model").is_file()
    before = AutoModel.from_pretrained(en_model_dir).state_dict()
    after = model.state_dict()
    assert set(before) == set(after)
    assert not torch.equal(before["embeddings.word_embeddings.weight"],
                           after["embeddings.word_embeddings.weight"])
    # The pooler (unused by MLM) is carried over instead of being re-initialised.
    assert torch.equal(before["pooler.weight"], after["pooler.weight"])


def test_output_works_as_paths_transformer(pretrained):
    config = load_config(CONFIGS / "textcat_ner.cfg", interpolate=True,
                         overrides={"paths.transformer": str(pretrained.output_dir)})
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    doc = nlp.make_doc("Nora Bergman broke the national record in Perth.")
    example = Example.from_dict(doc, {"entities": [(0, 12, "PER"), (42, 47, "LOC")],
                                      "cats": {"POSITIVE": 1.0, "NEGATIVE": 0.0}})
    nlp.initialize(lambda: [example])
    predicted = nlp("Halvorsen Foods reported fantastic results.")
    assert sum(predicted.cats.values()) == pytest.approx(1.0, abs=1e-4)
    assert predicted._.trf_data.tensors[0].shape[-1] == 64


def test_make_blocks_packs_lines_within_length(en_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(en_model_dir)
    lines = PRETRAIN_TEXT.read_text(encoding="utf-8").splitlines()[:50]
    blocks, n_words = make_blocks(tokenizer, lines, max_length=32)
    assert n_words == sum(len(line.split()) for line in lines)
    assert all(0 < len(block.ids) <= 30 and len(block.ids) == len(block.words) for block in blocks)
    expected = [i for ids in tokenizer(lines, add_special_tokens=False)["input_ids"] for i in ids]
    assert [i for block in blocks for i in block.ids] == expected


def test_masked_positions_loss_equals_the_full_decoder_loss(en_model_dir):
    """The decoder runs on masked pieces only; loss and gradients are HF's own."""
    tokenizer = AutoTokenizer.from_pretrained(en_model_dir)
    blocks = [Block(list(range(10, 10 + n)), list(range(n))) for n in (20, 12, 7)]
    batch = mask_batch(blocks, tokenizer, torch.Generator().manual_seed(0))
    model = load_mlm_model(en_model_dir)
    model.eval()  # no dropout, so both passes see the same network

    def loss_and_grads(compute):
        model.zero_grad()
        loss = compute()
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]

    full, full_grads = loss_and_grads(lambda: model(**batch).loss)
    masked, masked_grads = loss_and_grads(lambda: masked_lm_loss(model, batch))
    assert torch.allclose(full, masked, atol=1e-5)
    assert len(full_grads) == len(masked_grads)
    for expected, got in zip(full_grads, masked_grads):
        assert torch.allclose(expected, got, atol=1e-5)


def test_whole_word_masking_masks_all_pieces_of_a_word(en_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(en_model_dir)
    blocks = [Block(list(range(10, 30)), [w // 3 for w in range(20)]) for _ in range(8)]
    batch = mask_batch(blocks, tokenizer, torch.Generator().manual_seed(0),
                       mlm_probability=0.3, whole_word_masking=True)
    labels = batch["labels"]
    assert labels.shape == (8, 22)
    assert bool((labels[:, 0] == -100).all() and (labels[:, -1] == -100).all())
    for row in range(8):
        chosen = (labels[row, 1:-1] != -100).tolist()
        for word in range(7):
            assert len({chosen[i] for i in range(20) if i // 3 == word}) == 1
        assert any(chosen)


def test_pretrain_cli(en_model_dir, tmp_path):
    out: Path = tmp_path / "cli-out"
    result = CliRunner().invoke(app, [
        "pretrain", str(en_model_dir), "--corpus", str(PRETRAIN_TEXT), "--steps", "2",
        "--output", str(out), "--batch-size", "4", "--max-length", "32",
        "--whole-word-masking",
    ])
    assert result.exit_code == 0, result.output
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
