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

from bench.hf_baseline import (
    HF_WINDOWS,
    OUR_WINDOWS,
    HFRawForward,
    Windows,
    first_pieces,
    merge_windows,
)
from bench.hf_training import (
    HFLoop,
    LoopSettings,
    align_first_subword,
    loss_curve,
    make_optimizer,
    token_batch,
)
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


@pytest.mark.parametrize("windows", [HF_WINDOWS, OUR_WINDOWS], ids=["512-128", "128-96"])
@pytest.mark.parametrize("split_into_words", [False, True])
def test_tag_merges_windows_of_long_texts(tokenizer: PreTrainedTokenizerFast,
                                          split_into_words: bool, windows: Windows) -> None:
    """Long texts are tagged in overlapping windows, HF's (512 pieces, 128 overlap) or ours
    (128 pieces, step 96); every word gets the tag of its own first piece, exactly once,
    also where a window starts inside a word (four-piece words)."""
    words = ["".join(w) for w in itertools.islice(itertools.product(LETTERS, repeat=4), 300)]
    texts = [" ".join(words), "abc fed"]
    inputs = [text.split() for text in texts] if split_into_words else texts
    runner = HFRawForward(tokenizer, None, TagByPiece(), batch_size=2, windows=windows)
    tags = runner.tag(inputs, is_split_into_words=split_into_words)  # type: ignore[arg-type]
    expected = [[LETTERS.index(word[0]) + 1 for word in text.split()] for text in texts]
    assert tags == expected
    n_windows = len(tokenizer(texts[0], truncation=True, max_length=windows.max_pieces,
                              stride=windows.overlap,
                              return_overflowing_tokens=True)["input_ids"])
    # 1,200 pieces: three 512-piece windows, or thirteen 128-piece windows.
    assert n_windows == (3 if windows == HF_WINDOWS else 13)


class FakeWindows(dict):
    """The two parts of a BatchEncoding that merge_windows reads."""

    def __init__(self, samples: list[int], word_ids: list[list]) -> None:
        super().__init__(overflow_to_sample_mapping=samples)
        self._word_ids = word_ids

    def word_ids(self, window: int) -> list:
        return self._word_ids[window]


def test_merge_windows_averages_overlapping_windows() -> None:
    """Word 1 sits in both windows of text 0: window 0 leans to tag 0, window 1 is sure of
    tag 1; the average decides (as spacy-albert averages overlapping spans)."""
    import numpy

    encoding = FakeWindows([0, 0, 1], [[None, 0, 1, None], [None, 1, 2, None], [None, 0, None]])
    logits = [numpy.array([[9, 0], [1, 0], [0.6, 0.4], [9, 0]]),
              numpy.array([[9, 0], [0.1, 0.9], [0, 1], [9, 0]]),
              numpy.array([[9, 0], [0, 1], [9, 0]])]
    assert merge_windows(encoding, logits, [0, 0]) == [[0, 1, 1], [1]]
    assert merge_windows(encoding, logits, [4, 1]) == [[0, 1, 1, 0], [1]]  # unseen word: 0


def test_classify_long_texts_on_all_windows_or_the_first(tokenizer) -> None:
    """Our windows: the text's probabilities are the mean over its windows; HF's: the
    first 512 pieces only (truncation)."""

    class FirstPieceVotes(torch.nn.Module):
        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
            positive = (input_ids[:, 1] == len(SPECIALS)).float()  # window starts with "a"
            return SimpleNamespace(logits=torch.stack([1 - positive, positive], dim=1) * 20)

    text = " ".join(["a"] * 100 + ["b"] * 400)
    hf_side = HFRawForward(tokenizer, FirstPieceVotes(), None, windows=HF_WINDOWS)
    ours = HFRawForward(tokenizer, FirstPieceVotes(), None, windows=OUR_WINDOWS,
                        classify_windows=True)
    assert hf_side.classify([text, "b"]).round(3).tolist() == [[0.0, 1.0], [1.0, 0.0]]
    # 500 pieces in windows of 126 (+2 specials) every 94: starts 0, 94 (both a), 188, ...
    assert ours.classify([text])[0, 1] == pytest.approx(2 / 5, abs=1e-3)


def test_token_batch_aligns_labels_and_truncates(tokenizer: PreTrainedTokenizerFast) -> None:
    """Labels sit on first pieces only; words cut off by max_length get no label."""
    inputs, words = token_batch(tokenizer, [["ab", "c", "fed"], ["a"]], [[1, 2, 3], [4]],
                                max_length=5)
    assert words == 4
    assert inputs["labels"].tolist() == [[-100, 1, -100, 2, -100],  # [CLS] a ##b c [SEP]
                                         [-100, 4, -100, -100, -100]]
    assert inputs["input_ids"].shape == inputs["attention_mask"].shape == (2, 5)


def test_hf_loop_keeps_its_optimizer_state_across_steps() -> None:
    model = torch.nn.Linear(2, 1)
    with torch.no_grad():  # far from the minimum, so three Adam steps must lower the loss
        model.weight.fill_(1.0)
        model.bias.fill_(1.0)

    class WithLoss(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, x: torch.Tensor) -> SimpleNamespace:
            return SimpleNamespace(loss=self.inner(x).pow(2).mean())

    loop = HFLoop(WithLoss(), steps=4, settings=LoopSettings(learn_rate=0.1, warmup=0))
    losses = [loop.step({"x": torch.ones(3, 2)}) for _ in range(3)]
    assert loop.optimizer.state[model.weight]["step"] == 3
    assert losses[2] < losses[0]


def test_grad_clip_zero_turns_clipping_off(monkeypatch: pytest.MonkeyPatch) -> None:
    clipped: list[float] = []
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_",
                        lambda parameters, max_norm: clipped.append(max_norm))
    inputs = {"x": torch.ones(3, 2)}

    class WithLoss(torch.nn.Linear):
        def forward(self, x: torch.Tensor) -> SimpleNamespace:
            return SimpleNamespace(loss=super().forward(x).pow(2).mean())

    for grad_clip in (0.0, 1.0):
        HFLoop(WithLoss(2, 2), steps=2, settings=LoopSettings(grad_clip=grad_clip)).step(inputs)
    assert clipped == [1.0]


def test_loss_curve_averages_stretches() -> None:
    assert loss_curve([4.0, 2.0, 3.0, 1.0, 5.0], points=3) == [3.0, 2.0, 5.0]
    assert loss_curve([1.0, 2.0], points=30) == [1.0, 2.0]
    assert loss_curve([]) == []


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


def test_layer_lr_decay_groups_the_hf_models_parameters_by_their_layers_rate() -> None:
    from transformers import AlbertConfig, AlbertForSequenceClassification

    from spacy_albert.models.layer_rates import layer_lr_scale

    model = AlbertForSequenceClassification(AlbertConfig(
        vocab_size=30, embedding_size=8, hidden_size=16, num_hidden_layers=2,
        num_hidden_groups=2, num_attention_heads=2, intermediate_size=32))
    optimizer, _ = make_optimizer(model, 10, LoopSettings(learn_rate=0.5))
    assert len(optimizer.param_groups) == 1
    optimizer, _ = make_optimizer(model, 10, LoopSettings(learn_rate=0.5, layer_lr_decay=0.5))
    rate_of = {id(p): group["initial_lr"] for group in optimizer.param_groups
               for p in group["params"]}
    assert sorted({group["initial_lr"] for group in optimizer.param_groups}) == [
        0.0625, 0.125, 0.25, 0.5]
    for name, parameter in model.named_parameters():
        assert rate_of[id(parameter)] == 0.5 * layer_lr_scale(name, 2, 0.5), name
