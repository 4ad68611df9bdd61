"""The HF baseline's helpers: first-subword alignment, window merging, the learning-rate
schedule, and the speed summary. A tiny in-memory WordPiece tokenizer stands in for ALBERT's."""

import itertools
import string
from types import SimpleNamespace

import pytest
import torch
from thinc.api import warmup_linear
from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast

from bench.hf_baseline import HFRawForward, first_pieces
from bench.hf_training import LoopSettings, align_first_subword, make_optimizer
from bench.inference import summarize

LETTERS = string.ascii_lowercase[:6]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
CONTINUATION_TAG = 7


@pytest.fixture(scope="module")
def tokenizer() -> PreTrainedTokenizerFast:
    """Every letter is one piece: "abc" -> a ##b ##c, wrapped in [CLS] ... [SEP]."""
    vocab = {token: i for i, token in enumerate(SPECIALS + list(LETTERS)
                                                 + [f"##{c}" for c in LETTERS])}
    backend = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="[PAD]",
                                   unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]")


class TagByPiece(torch.nn.Module):
    """A token classifier whose tag is a function of the piece: letter i -> tag i + 1, any
    continuation piece -> CONTINUATION_TAG, specials -> 0."""

    def __init__(self) -> None:
        super().__init__()
        table = [0] * len(SPECIALS) + [i + 1 for i in range(len(LETTERS))]
        self.register_buffer("table", torch.tensor(table + [CONTINUATION_TAG] * len(LETTERS)))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        return SimpleNamespace(logits=torch.nn.functional.one_hot(self.table[input_ids]).float())


def test_first_pieces() -> None:
    ids, first = first_pieces([None, 0, 0, 1, 2, 2, 2, None, None])
    assert ids.tolist() == [-1, 0, 0, 1, 2, 2, 2, -1, -1]
    assert first.tolist() == [False, True, False, True, True, False, False, False, False]


def test_align_first_subword(tokenizer: PreTrainedTokenizerFast) -> None:
    encoding = tokenizer([["ab", "c"], ["abc"]], is_split_into_words=True, padding=True,
                         return_tensors="pt")
    labels = align_first_subword(encoding, [[5, 6], [8]])
    assert labels.tolist() == [[-100, 5, -100, 6, -100],   # [CLS] a ##b c [SEP]
                               [-100, 8, -100, -100, -100]]  # [CLS] a ##b ##c [SEP]


@pytest.mark.parametrize("split_into_words", [False, True])
def test_tag_merges_windows_of_long_texts(tokenizer: PreTrainedTokenizerFast,
                                          split_into_words: bool) -> None:
    """Texts over 512 pieces are tagged in overlapping windows; every word gets the tag of
    its own first piece, also where a window starts inside a word (four-piece words: the
    second window starts at piece 382, in the middle of a word)."""
    words = ["".join(w) for w in itertools.islice(itertools.product(LETTERS, repeat=4), 300)]
    texts = [" ".join(words), "abc fed"]
    inputs = [text.split() for text in texts] if split_into_words else texts
    runner = HFRawForward(tokenizer, None, TagByPiece(), batch_size=2, stride=128)
    tags = runner.tag(inputs, is_split_into_words=split_into_words)  # type: ignore[arg-type]
    expected = [[LETTERS.index(word[0]) + 1 for word in text.split()] for text in texts]
    assert tags == expected
    n_windows = len(tokenizer(texts[0], truncation=True, max_length=512, stride=128,
                              return_overflowing_tokens=True)["input_ids"])
    assert n_windows == 3  # 1,200 pieces: the test covers two window boundaries


def test_schedule_is_thincs_warmup_linear() -> None:
    """The HF loop's learning rates are those of the spaCy configs' `warmup_linear.v1`."""
    model = torch.nn.Linear(2, 2)
    settings = LoopSettings(learn_rate=0.5, warmup=3)
    optimizer, scheduler = make_optimizer(model, 10, settings)
    rates = []
    for _ in range(12):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    expected = list(itertools.islice(warmup_linear(0.5, 3, 10), 12))
    assert rates == pytest.approx(expected)


def test_summarize_speeds_and_ratios() -> None:
    times = {"spacy_joint_fp32": [1.0, 2.0, 4.0], "hf_pipeline_two": [3.0, 2.0, 12.0],
             "spacy_ner_fp32": [1.0, 1.0, 1.0]}
    result = summarize(times, words=600, texts=8, batch_size=4)
    assert (result["words"], result["texts"], result["rounds"], result["batch_size"]) == (
        600, 8, 3, 4)
    assert result["contenders"]["spacy_joint_fp32"] == {
        "seconds": [1.0, 2.0, 4.0], "words_per_s_best": 600.0, "words_per_s_median": 300.0}
    # Per-round ratios 3, 1, 3 (median 3); best rounds 2.0 / 1.0. Pairs that did not run
    # (spacy_ner_fp32 without an HF token classifier) are left out.
    assert result["ratios"] == {"spacy_joint_fp32/hf_pipeline_two": 3.0}
    assert result["ratios_best"] == {"spacy_joint_fp32/hf_pipeline_two": 2.0}


def test_training_loops_run_on_a_tiny_albert(tokenizer: PreTrainedTokenizerFast) -> None:
    from transformers import (
        AlbertConfig,
        AlbertForSequenceClassification,
        AlbertForTokenClassification,
    )

    from bench.data import epoch_batches
    from bench.hf_training import train_sequence_classifier, train_token_classifier

    config = AlbertConfig(vocab_size=len(tokenizer), embedding_size=8, hidden_size=16,
                          num_hidden_layers=1, num_attention_heads=2, intermediate_size=16,
                          max_position_embeddings=64, num_labels=3)
    sentences = [["ab", "c"], ["fed", "a", "bb"], ["c"]]
    settings = LoopSettings(batch_size=2, learn_rate=1e-2, warmup=1, seed=0)
    tok_stats = train_token_classifier(AlbertForTokenClassification(config), tokenizer,
                                       sentences, [[0, 1], [2, 0, 1], [2]], 3, settings)
    assert tok_stats.steps == 3 and len(tok_stats.losses) == 3
    batches = epoch_batches(len(sentences), 2, seed=0)  # the loop's batches: 2, 1, then 2
    assert tok_stats.words == sum(len(sentences[i]) for _ in range(3) for i in next(batches))
    texts = [" ".join(words) for words in sentences]
    seq_stats = train_sequence_classifier(AlbertForSequenceClassification(config), tokenizer,
                                          texts, [0, 1, 2], 2, settings)
    assert seq_stats.words == 6 and seq_stats.words_per_second > 0
