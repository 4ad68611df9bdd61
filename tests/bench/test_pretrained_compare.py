"""The en-pretrained workflow's bench code: corpus layout, checkpoint unpacking, the training
log with words/s, the learning-rate search, and one tiny end-to-end comparison on a tiny BERT
built here (no packaged checkpoint, no real data)."""

import json
import sys
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import spacy
import torch
from spacy.tokens import Doc
from spacy.util import load_config
from transformers import BertModel

from bench import pretrained_compare
from bench.accuracy import entity_f1, score, sst_accuracy
from bench.data import TaggedSentence
from bench.pretrained_compare import (
    Job,
    JobRunner,
    SeedRun,
    SystemResult,
    parse_args,
    parse_override,
    seed_run,
    sweep,
)
from bench.pretrained_data import (
    CorpusLimits,
    checkpoint_root,
    load_split,
    prepare_corpus,
    read_docs,
    unpack_checkpoint,
)
from bench.pretrained_systems import CompareBudget, Scores, albert_trainer, batch_words
from bench.train_log import log_record, read_throughput
from spacy_albert.checkpoints.pretrained import import_pretrained
from spacy_albert.convert import read_conll, write_docbin
from tests.checkpoints.test_bert_import import save_bert, tiny_bert_config

from .test_data import CONLL

GRAD_FACTOR = "components.textcat.model.tok2vec.grad_factor"
SST = [("a gripping film .", 1), ("dull , lifeless .", 0), ("the match was loved .", 1),
       ("laura called it bad .", 0), ("fans loved lisbon .", 1)]


def sst_docs(rows: list[tuple[str, int]]) -> list[Doc]:
    nlp = spacy.blank("en")
    docs = []
    for text, label in rows:
        doc = nlp.make_doc(text)
        doc.cats = {"POSITIVE": float(label), "NEGATIVE": 1.0 - label}
        docs.append(doc)
    return docs


def write_full(folder: Path, conll: str = CONLL, sentence_conll: str = CONLL) -> Path:
    """What en-pretrained-convert writes: CoNLL per sentence and per document, and SST-2."""
    folder.mkdir(parents=True)
    (folder / "conll.txt").write_text(conll, encoding="utf-8")
    (folder / "sentences.txt").write_text(sentence_conll, encoding="utf-8")
    for split in ("train", "dev", "test"):
        write_docbin(read_conll(folder / "sentences.txt", n_sents=1),
                     folder / "sentence" / f"{split}.spacy")
        write_docbin(read_conll(folder / "conll.txt", n_sents=100_000),
                     folder / "document" / f"{split}.spacy")
        write_docbin(sst_docs(SST), folder / "sst2" / f"{split}.spacy")
    return folder


def words(path: Path) -> list[list[str]]:
    return [[t.text for t in doc] for doc in read_docs(path, spacy.blank("en").vocab)]


# ---------------------------------------------------------------- corpus


def test_both_contexts_keep_the_same_documents(tmp_path: Path) -> None:
    full = write_full(tmp_path / "full")
    counts = prepare_corpus(full, tmp_path / "out",
                            CorpusLimits(max_train_docs=1, max_eval_docs=1, seed=1))
    documents = words(tmp_path / "out" / "document" / "train" / "conll.spacy")
    sentences = words(tmp_path / "out" / "sentence" / "train" / "conll.spacy")
    assert len(documents) == 1
    # The sentence-level file holds exactly the kept document's sentences, in order.
    assert [w for sentence in sentences for w in sentence] == documents[0]
    assert counts["train"].conll_sentences == len(sentences)
    # As many SST-2 training texts as CoNLL sentences (a batch holds as much of each task).
    assert counts["train"].sst_texts == len(sentences)
    assert counts["dev"].conll_documents == 1 and counts["dev"].sst_texts == 1
    for context in ("sentence", "document"):
        sst = words(tmp_path / "out" / context / "train" / "sst2.spacy")
        assert len(sst) == len(sentences)


@pytest.mark.parametrize(("sst_train_texts", "expected"), [(-1, 5), (3, 3), (0, 4)])
def test_sst_training_texts(tmp_path: Path, sst_train_texts: int, expected: int) -> None:
    counts = prepare_corpus(write_full(tmp_path / "full"), tmp_path / "out",
                            CorpusLimits(sst_train_texts=sst_train_texts))
    assert counts["train"].conll_documents == 2 and counts["train"].conll_sentences == 4
    assert counts["train"].sst_texts == expected
    assert counts["test"].sst_texts == len(SST)


def test_conversions_of_different_files_are_refused(tmp_path: Path) -> None:
    other = CONLL.replace("rejects", "accepts")
    full = write_full(tmp_path / "full", sentence_conll=other)
    with pytest.raises(ValueError, match=r"sentence[/\\]train\.spacy: doc 0 is not sentence"):
        prepare_corpus(full, tmp_path / "out", CorpusLimits())


def test_load_split(tmp_path: Path) -> None:
    prepare_corpus(write_full(tmp_path / "full"), tmp_path / "out", CorpusLimits())
    sentences = load_split(tmp_path / "out", "sentence", "dev")
    documents = load_split(tmp_path / "out", "document", "dev")
    assert sentences.conll[0] == TaggedSentence(["EU", "rejects", "German", "call", "."],
                                                ["B-ORG", "O", "B-MISC", "O", "O"])
    assert [w for s in sentences.conll for w in s.words] == \
        [w for d in documents.conll for w in d.words]
    assert len(documents.conll) == 2
    assert sentences.sst == SST


def test_sst_docs_without_cats_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "sentence" / "dev"
    write_docbin([spacy.blank("en")("plain text")], folder / "conll.spacy")
    write_docbin([spacy.blank("en")("no cats here")], folder / "sst2.spacy")
    with pytest.raises(ValueError, match=r"sst2\.spacy: doc 0 has no POSITIVE category"):
        load_split(tmp_path, "sentence", "dev")


# ---------------------------------------------------------------- checkpoint


def make_checkpoint(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "bert"}')
    (folder / "vocab.txt").write_text("[PAD]\n")
    return folder


@pytest.mark.parametrize("inner", ["", "all-MiniLM-L6-v2/"])
def test_unpack_a_zip_with_files_at_its_root_or_in_a_folder(tmp_path: Path, inner: str) -> None:
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr(f"{inner}config.json", '{"model_type": "bert"}')
        out.writestr(f"{inner}1_Pooling/config.json", "{}")
        out.writestr(f"{inner}vocab.txt", "[PAD]\n")
    dest = unpack_checkpoint(str(archive), tmp_path / "assets" / "checkpoint")
    assert sorted(p.name for p in dest.iterdir()) == ["1_Pooling", "config.json", "vocab.txt"]
    # Unpacking again replaces the folder.
    assert unpack_checkpoint(str(archive), dest) == dest and (dest / "vocab.txt").is_file()


def test_unpack_a_directory_and_refuse_other_things(tmp_path: Path) -> None:
    source = make_checkpoint(tmp_path / "source")
    dest = unpack_checkpoint(str(source), tmp_path / "dest")
    assert (dest / "config.json").read_text() == '{"model_type": "bert"}'
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="neither a checkpoint directory nor a .zip"):
        unpack_checkpoint(str(tmp_path / "notes.txt"), tmp_path / "x")
    with pytest.raises(FileNotFoundError):
        unpack_checkpoint(str(tmp_path / "missing"), tmp_path / "x")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="not a checkpoint"):
        checkpoint_root(tmp_path / "empty")


def test_the_installed_package_is_found_without_importing_it(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site" / "all_minilm_l6_v2"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('imported')\n")
    with zipfile.ZipFile(package / "model.zip", "w") as out:
        out.writestr("config.json", '{"model_type": "bert"}')
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "all_minilm_l6_v2", raising=False)
    dest = unpack_checkpoint("", tmp_path / "dest")
    assert (dest / "config.json").is_file()


# ---------------------------------------------------------------- scoring and search


def test_scores_are_seqeval_entity_f1_and_accuracy_in_percent() -> None:
    gold = [TaggedSentence(["Peter", "Paul", "said"], ["B-PER", "I-PER", "O"]),
            TaggedSentence(["in", "Paris"], ["O", "B-LOC"])]
    predicted = [["B-PER", "I-PER", "O"], ["O", "O"]]  # 1 of 2 entities, no false one
    sst = [("good", 1), ("bad", 0), ("fine", 1), ("meh", 0)]
    assert entity_f1(gold, predicted) == 66.67  # P 1.0, R 0.5
    assert sst_accuracy(sst, [1, 0, 0, 0]) == 75.0
    assert score(gold, predicted, sst, [1, 0, 0, 0]) == {"conll_f1": 66.67,
                                                         "sst2_accuracy": 75.0}


def test_batch_words_is_a_batch_of_each_task() -> None:
    from bench.pretrained_data import SplitData

    train = SplitData([TaggedSentence(["a"] * 10, ["O"] * 10), TaggedSentence(["b"] * 20,
                                                                               ["O"] * 20)],
                      [("one two", 1), ("one two three four", 0)])
    assert batch_words(train, 4) == 4 * (15 + 3)


@dataclass
class FakeRun:
    learn_rate: float
    seed: int
    seconds: float = 2.0
    words: int = 100

    def score(self, split: str) -> Scores:
        # Best on dev at 1e-4; test differs from dev so the two cannot be mixed up.
        base = 80.0 - abs(self.learn_rate - 1e-4) * 1e5 + self.seed
        return Scores(conll_f1=base if split == "dev" else base - 5, sst2_accuracy=90.0)


def test_sweep_picks_the_rate_on_dev_then_trains_the_other_seeds_at_it() -> None:
    calls: list[tuple[float, int]] = []
    saves: list[int] = []

    def train(learn_rate: float, seed: int) -> FakeRun:
        calls.append((learn_rate, seed))
        return FakeRun(learn_rate, seed)

    budget = CompareBudget(steps=10, batch=2, batch_words=20, lr_grid=(5e-5, 1e-4, 2e-4),
                           seeds=3)
    result = sweep(train, budget, SystemResult("fake"), lambda: saves.append(1))
    assert calls == [(5e-5, 0), (1e-4, 0), (2e-4, 0), (1e-4, 1), (1e-4, 2)]
    assert result.learn_rate == 1e-4
    assert list(result.lr_search) == ["5e-05", "0.0001", "0.0002"]
    assert [run.seed for run in result.runs] == [0, 1, 2]
    assert [run.test.conll_f1 for run in result.runs] == [75.0, 76.0, 77.0]
    assert result.runs[0].train_words_per_s == 50.0
    summary = result.summary()
    assert summary["dev_conll_f1"] == {"mean": 81.0, "sd": 1.0, "n": 3}
    assert summary["test_sst2_accuracy"] == {"mean": 90.0, "sd": 0.0, "n": 3}
    # What the rate was picked by, written for the renderer (bench.render_quality).
    assert result.to_json()["lr_selection"] == {"5e-05": 82.5, "0.0001": 85.0, "0.0002": 80.0}
    assert len(saves) == len(calls) + 1  # after every run, and once the rate is chosen


def fake_jobs(asked: list[list[Job]]) -> JobRunner:
    """A runner that records what it is asked and yields the runs last job first, as
    workers may finish."""

    def run_jobs(jobs: Sequence[Job]) -> Iterator[tuple[Job, SeedRun]]:
        asked.append(list(jobs))
        for learn_rate, seed in reversed(jobs):
            run = FakeRun(learn_rate, seed)
            yield (learn_rate, seed), seed_run(seed, run, run.score("dev"))

    return run_jobs


def never(learn_rate: float, seed: int) -> FakeRun:
    raise AssertionError("the runner trains every job")


def test_a_one_rate_grid_trains_every_seed_at_once_and_keeps_them_in_seed_order() -> None:
    budget = CompareBudget(steps=10, batch=2, batch_words=20, lr_grid=(1e-4,), seeds=3)
    asked: list[list[Job]] = []
    saves: list[int] = []
    result = sweep(never, budget, SystemResult("fake"), lambda: saves.append(1),
                   fake_jobs(asked))
    assert asked == [[(1e-4, 0), (1e-4, 1), (1e-4, 2)]]
    assert result.learn_rate == 1e-4 and [run.seed for run in result.runs] == [0, 1, 2]
    assert result.lr_search == {"0.0001": result.runs[0].dev}
    assert len(saves) == 3


def picked(learn_rate: float, seeds: int) -> SystemResult:
    """A finished one-rate search at `learn_rate` with `seeds` runs, as an earlier file."""
    runs = [seed_run(seed, FakeRun(learn_rate, seed), FakeRun(learn_rate, seed).score("dev"))
            for seed in range(seeds)]
    return SystemResult("fake", {f"{learn_rate:g}": runs[0].dev}, learn_rate, runs)


def test_a_grown_grid_tries_only_its_new_rates_and_keeps_a_pick_that_still_wins() -> None:
    budget = CompareBudget(steps=10, batch=2, batch_words=20, lr_grid=(5e-5, 1e-4, 2e-4),
                           seeds=3)
    earlier = picked(1e-4, seeds=5)
    asked: list[list[Job]] = []
    result = sweep(never, budget, earlier, lambda: None, fake_jobs(asked))
    # Both new rates at once at seed 0; 1e-4 still wins, so its 5 seeds stand and none train.
    assert asked == [[(5e-5, 0), (2e-4, 0)], []]
    assert list(result.lr_search) == ["5e-05", "0.0001", "0.0002"]
    assert result.learn_rate == 1e-4 and [run.seed for run in result.runs] == [0, 1, 2, 3, 4]


def test_a_new_rate_that_wins_on_dev_replaces_the_earlier_picks_runs() -> None:
    budget = CompareBudget(steps=10, batch=2, batch_words=20, lr_grid=(1e-4, 2e-4, 3e-4),
                           seeds=3)
    earlier = picked(2e-4, seeds=5)  # FakeRun is best at 1e-4
    asked: list[list[Job]] = []
    result = sweep(never, budget, earlier, lambda: None, fake_jobs(asked))
    assert asked == [[(1e-4, 0), (3e-4, 0)], [(1e-4, 1), (1e-4, 2)]]
    assert result.learn_rate == 1e-4
    assert [(run.seed, run.dev.conll_f1) for run in result.runs] == [(0, 80.0), (1, 81.0),
                                                                     (2, 82.0)]
    assert result.lr_search["0.0002"] == earlier.lr_search["0.0002"]


def test_selection_averages_the_tasks_a_system_has() -> None:
    assert Scores(conll_f1=80.0).selection() == 80.0
    assert Scores(conll_f1=80.0, sst2_accuracy=90.0).selection() == 85.0


@pytest.mark.parametrize("argv", [["--lr-grid", "1e-4,fast"], ["--systems", "hf-ner,cnn"],
                                  ["--steps", "1"], ["--jobs", "0"],
                                  ["--albert-override", "training.dropout"],
                                  ["--albert-override", "=0.2"],
                                  ["--hf-override", "learn_rate=1e-3"],
                                  ["--hf-override", "grad_clip=off"],
                                  ["--hf-override", "grad_clip=true"],
                                  ["--hf-override", "use_averages=1"],
                                  ["--hf-override", "max_length=64.5"]])
def test_bad_arguments_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--corpus", "c", "--model", "m", *argv])


def test_loop_settings_take_overrides_of_their_type() -> None:
    args = parse_args(["--corpus", "c", "--model", "m", "--hf-override", "use_averages=true",
                       "--hf-override", "grad_clip=0", "--hf-override", "max_length=64"])
    assert args.hf_overrides == {"use_averages": True, "grad_clip": 0, "max_length": 64}


def test_overrides_are_read_as_json_where_they_parse() -> None:
    assert parse_override("components.textcat.model.tok2vec.grad_factor=4") == (
        "components.textcat.model.tok2vec.grad_factor", 4)
    assert parse_override("training.dropout=0.2") == ("training.dropout", 0.2)
    assert parse_override("a.b=true") == ("a.b", True)
    assert parse_override("nlp.lang=en") == ("nlp.lang", "en")


def test_log_record_and_throughput(tmp_path: Path) -> None:
    info = {"epoch": 1, "step": 9, "losses": {"ner": 2.5}, "score": 0.5, "words": 900,
            "seconds": 3, "other_scores": {"ents_f": 0.5, "speed": 1000.0}}
    record = log_record(info, ["ents_f", "speed", "cats_score"])
    assert record["scores"] == {"ents_f": 50.0, "speed": 1000.0, "cats_score": 0.0}
    assert (record["words"], record["seconds"]) == (900, 3)
    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps({**record, "words": 10}) + "\n" + json.dumps(record) + "\n")
    assert read_throughput(log) == (900, 3)


def test_pretraining_log_is_pretrains_log_without_the_losses(tmp_path: Path) -> None:
    assert pretrained_compare.pretraining_log(tmp_path) is None
    (tmp_path / "pretrain.json").write_text(json.dumps({"steps": 3, "losses": [3.0, 2.0, 1.0]}))
    assert pretrained_compare.pretraining_log(tmp_path) == {"steps": 3}


# ---------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def tiny_albert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT, imported the way en-pretrained-checkpoint imports MiniLM."""
    torch.manual_seed(0)
    bert = save_bert(tmp_path_factory.mktemp("bert") / "bert", BertModel(tiny_bert_config()))
    return import_pretrained(bert, tmp_path_factory.mktemp("albert") / "albert").path


def test_every_system_trains_and_scores_on_the_same_checkpoint(tiny_albert: Path,
                                                                 tmp_path: Path) -> None:
    prepare_corpus(write_full(tmp_path / "full"), tmp_path / "corpus", CorpusLimits())
    out = tmp_path / "compare.json"
    pretrained_compare.main(["--corpus", str(tmp_path / "corpus"), "--model", str(tiny_albert),
                             "--steps", "2", "--batch", "2", "--lr-grid", "1e-3,1e-4",
                             "--seeds", "1", "--threads", "1", "--out", str(out),
                             "--work-dir", str(tmp_path / "work"),
                             "--albert-override", f"{GRAD_FACTOR}=4",
                             "--hf-override", "grad_clip=0"])
    results = json.loads(out.read_text())
    meta = results["meta"]
    assert meta["complete"] is True and meta["threads"] == 1
    assert meta["command"].startswith("python -m bench.pretrained_compare --corpus ")
    assert {"cpu", "cpu_info", "torch", "date", "loadavg_start", "seconds"} <= set(meta)
    assert "flags" in meta["cpu_info"]
    budget = results["budget"]
    assert budget["steps"] == 2 and budget["warmup"] == 1
    assert budget["model_pretraining"] is None  # an imported checkpoint, not pretrain's
    assert budget["albert_overrides"] == {GRAD_FACTOR: 4}
    assert budget["hf_overrides"] == {"grad_clip": 0}
    assert budget["conll_train_sentences"] == 4 and budget["sst2_train_texts"] == 4
    assert budget["eval"]["document/test"] == {"conll_docs": 2, "sst2_texts": len(SST)}
    systems = results["systems"]
    assert list(systems) == ["albert-sentence", "albert-document", "albert-sst2", "hf-ner",
                             "hf-sst2"]
    for name, system in systems.items():
        assert list(system["lr_search"]) == ["0.001", "0.0001"], name
        assert system["learn_rate"] in (1e-3, 1e-4)
        (run,) = system["runs"]
        assert run["train_words_per_s"] > 0
        assert ("dev_conll_f1" in system["summary"]) == (not name.endswith("sst2"))
        assert ("test_sst2_accuracy" in system["summary"]) == (name != "hf-ner")
    # spacy-albert made exactly `steps` updates (its loop counts from 0) and logged them.
    log = tmp_path / "work" / "albert-document-lr0_001-seed0.jsonl"
    assert [json.loads(line)["step"] for line in log.read_text().splitlines()] == [0, 1]
    # ... with the override in the config it trained with.
    config = load_config(tmp_path / "work" / "albert-document-lr0_001-seed0.cfg")
    assert config["components"]["textcat"]["model"]["tok2vec"]["grad_factor"] == 4
    # albert-sst2 is the textcat config alone on the SST-2 texts, `batch` texts per update,
    # as the HF sequence classifier trains.
    config = load_config(tmp_path / "work" / "albert-sst2-lr0_001-seed0.cfg")
    assert config["nlp"]["pipeline"] == ["transformer", "textcat"]
    sst2_train = tmp_path / "corpus" / "sentence" / "train" / "sst2.spacy"
    assert config["paths"]["train"] == str(sst2_train)
    assert config["training"]["batcher"]["@batchers"] == "spacy.batch_by_sequence.v1"
    assert config["training"]["batcher"]["size"] == 2


def test_an_override_the_systems_config_lacks_fails_before_any_training(tmp_path: Path) -> None:
    prepare_corpus(write_full(tmp_path / "full"), tmp_path / "corpus", CorpusLimits())
    budget = CompareBudget(steps=2, batch=2, batch_words=20, lr_grid=(1e-3,), seeds=1)
    # configs/textcat.cfg, albert-sst2's, has no ner to override.
    with pytest.raises(KeyError, match=r"components\.ner\.model\.hidden_width: the config has "
                                       r"no \[components\.ner\]"):
        albert_trainer(tmp_path / "model", tmp_path / "corpus", "sentence", budget, tmp_path,
                       {}, {"components.ner.model.hidden_width": 64}, task="sst2")


def test_seeds_train_in_worker_processes_into_one_results_file(tiny_albert: Path,
                                                               tmp_path: Path) -> None:
    prepare_corpus(write_full(tmp_path / "full"), tmp_path / "corpus", CorpusLimits())
    out = tmp_path / "compare.json"
    pretrained_compare.main(["--corpus", str(tmp_path / "corpus"), "--model", str(tiny_albert),
                             "--steps", "2", "--batch", "2", "--lr-grid", "1e-3", "--seeds", "2",
                             "--jobs", "2", "--threads", "1", "--systems", "albert-sentence",
                             "--out", str(out), "--work-dir", str(tmp_path / "work")])
    results = json.loads(out.read_text())
    assert results["meta"]["complete"] is True and results["budget"]["jobs"] == 2
    system = results["systems"]["albert-sentence"]
    assert [run["seed"] for run in system["runs"]] == [0, 1]
    assert list(system["lr_search"]) == ["0.001"]
    assert system["summary"]["dev_conll_f1"]["n"] == 2
    for seed in (0, 1):  # each worker trained its own seed, to its own directory
        assert (tmp_path / "work" / f"albert-sentence-lr0_001-seed{seed}.jsonl").exists()


def test_extend_copies_a_files_runs_and_trains_only_the_seeds_it_lacks(
        tiny_albert: Path, tmp_path: Path) -> None:
    prepare_corpus(write_full(tmp_path / "full"), tmp_path / "corpus", CorpusLimits())
    common = ["--corpus", str(tmp_path / "corpus"), "--model", str(tiny_albert), "--steps", "2",
              "--batch", "2", "--lr-grid", "1e-3", "--threads", "1", "--systems", "hf-sst2",
              "--work-dir", str(tmp_path / "work")]
    first, extended = tmp_path / "first.json", tmp_path / "extended.json"
    pretrained_compare.main([*common, "--seeds", "1", "--out", str(first)])
    earlier = json.loads(first.read_text())
    earlier["systems"]["hf-sst2"]["runs"][0].pop("cpu")  # as files from before the field
    earlier["meta"]["cpu"] = "an older machine"
    first.write_text(json.dumps(earlier))
    pretrained_compare.main([*common, "--seeds", "3", "--extend", str(first),
                             "--out", str(extended)])
    results = json.loads(extended.read_text())
    system = results["systems"]["hf-sst2"]
    assert [run["seed"] for run in system["runs"]] == [0, 1, 2]
    assert system["runs"][0] == {**earlier["systems"]["hf-sst2"]["runs"][0],
                                 "cpu": "an older machine"}
    assert system["runs"][1]["cpu"] == results["meta"]["cpu"] != "an older machine"
    assert system["lr_search"] == earlier["systems"]["hf-sst2"]["lr_search"]
    assert system["summary"]["dev_sst2_accuracy"]["n"] == 3
    meta = results["meta"]
    assert meta["extends"] == {"file": "first.json", "command": earlier["meta"]["command"],
                               "date": earlier["meta"]["date"], "cpu": "an older machine",
                               "seeds": 1, "new_rates": []}
    assert meta["note"].startswith("Seeds 0–0 are copied from `first.json`")
    assert "kept" not in meta["note"]  # no rate was added, so there is no pick to report
    assert results["budget"]["seeds"] == 3
    # A grown grid: the note says what the new rate did to the pick.
    grown = tmp_path / "grown.json"
    pretrained_compare.main([*common, "--seeds", "3", "--lr-grid", "1e-3,1e-9", "--extend",
                             str(extended), "--out", str(grown)])
    results = json.loads(grown.read_text())
    system = results["systems"]["hf-sst2"]
    assert results["meta"]["extends"]["new_rates"] == [1e-9]
    assert results["meta"]["note"].endswith(
        " hf-sst2 kept 0.001." if system["learn_rate"] == 1e-3 else
        " For hf-sst2, 1e-09 beat the copied pick 0.001 on dev and replaced its seeds.")


def test_pick_outcome_says_whether_the_copied_pick_stood() -> None:
    result = SystemResult("d", learn_rate=1e-4)
    assert pretrained_compare.pick_outcome("hf-sst2", 1e-4, result) == "hf-sst2 kept 0.0001."
    assert pretrained_compare.pick_outcome("hf-sst2", 2e-4, result) == (
        "For hf-sst2, 0.0001 beat the copied pick 0.0002 on dev and replaced its seeds.")


def test_extend_refuses_a_file_it_cannot_add_to(tmp_path: Path) -> None:
    setup = {"steps": 1400, "seeds": 5, "lr_grid": [1e-4], "jobs": 2}
    earlier = {"meta": {"complete": True, "cpu": "x", "date": "d", "command": "c"},
               "budget": {**setup, "steps": 300, "seeds": 3, "jobs": 1},
               "systems": {"hf-sst2": {"description": "d", "lr_search": {},
                                       "learn_rate": 1e-4, "runs": []}}}
    path = tmp_path / "earlier.json"
    path.write_text(json.dumps(earlier))
    with pytest.raises(SystemExit, match="earlier.json: its budget differs in steps"):
        pretrained_compare.extended_systems(path, setup, ["hf-sst2"])
    earlier["budget"]["steps"] = 1400
    path.write_text(json.dumps(earlier))
    with pytest.raises(SystemExit, match="it has no hf-ner"):
        pretrained_compare.extended_systems(path, setup, ["hf-ner"])
    with pytest.raises(SystemExit, match=r"it has 3 seeds already \(--seeds 3\) and every"):
        pretrained_compare.extended_systems(path, {**setup, "seeds": 3}, ["hf-sst2"])
    with pytest.raises(SystemExit, match="its grid has 0.0001, which --lr-grid lacks"):
        pretrained_compare.extended_systems(path, {**setup, "lr_grid": [2e-4]}, ["hf-sst2"])
    # A grown grid is something to add, whatever the seeds.
    _, extension = pretrained_compare.extended_systems(
        path, {**setup, "seeds": 3, "lr_grid": [1e-4, 2e-4]}, ["hf-sst2"])
    assert "this run tried 0.0002 at seed 0" in extension["note"]
    earlier["meta"]["complete"] = False
    path.write_text(json.dumps(earlier))
    with pytest.raises(SystemExit, match="its run did not finish"):
        pretrained_compare.extended_systems(path, setup, ["hf-sst2"])


POOL_PARENT = """
import os, time
from bench.pretrained_compare import worker_pool

if __name__ == "__main__":
    pool = worker_pool(1)
    print(pool.submit(os.getpid).result(), flush=True)
    pool.submit(time.sleep, 600)
    time.sleep(600)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_workers_stop_when_the_comparison_is_killed(tmp_path: Path) -> None:
    """`kill PID` of a comparison running --jobs must not leave its seeds training."""
    import os
    import signal
    import subprocess
    import time

    script = tmp_path / "parent.py"
    script.write_text(POOL_PARENT, encoding="utf-8")
    root = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    assert parent.stdout is not None
    worker = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)  # no chance to shut its pool down
    parent.wait()
    deadline = time.monotonic() + 30
    while is_running(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not is_running(worker)


def is_running(pid: int) -> bool:
    """Whether the process is alive (a zombie waiting for its reaper has stopped)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status
