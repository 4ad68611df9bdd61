"""Entity scores in annotate records, `annotate --min-score` and `annotate --review`."""

import json
from pathlib import Path

import pytest
import spacy
from typer.testing import CliRunner

from spacy_albert.annotate.local import annotate_file
from spacy_albert.annotate.options import AnnotateOptions
from spacy_albert.annotate.records import annotate_text
from spacy_albert.annotate.review_queue import ReviewQueue
from spacy_albert.cli import app
from spacy_albert.confidence.review import (
    RecordLayout,
    entity_threshold,
    read_reviewed,
    record_confidence,
)
from tests.conftest import CORPUS


def dev_texts(n: int = 40) -> list[str]:
    lines = (CORPUS / "en" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines[:n]]


def write_input(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts)),
                    encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_records_carry_each_entity_score(scored_nlp):
    record = annotate_text(scored_nlp, dev_texts(1)[0], id=1)
    assert record["ents"]
    for ent, span in zip(record["ents"], scored_nlp(record["text"]).ents):
        assert 0.0 <= ent["score"] <= 1.0
        assert ent["score"] == span._.score


def test_records_without_a_scorer_have_no_score_key(en_nlp):
    record = annotate_text(en_nlp, dev_texts(1)[0], id=1)
    assert record["ents"] and all("score" not in ent for ent in record["ents"])


def test_min_score_auto_keeps_what_meets_the_stored_threshold(calibrated, tmp_path):
    texts = dev_texts()
    inp = write_input(tmp_path / "in.jsonl", texts)
    everything, kept = tmp_path / "all.jsonl", tmp_path / "kept.jsonl"
    runner = CliRunner()
    result = runner.invoke(app, ["annotate", str(calibrated["pipeline"]), str(inp),
                                 str(everything), "--no-progress"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["annotate", str(calibrated["pipeline"]), str(inp), str(kept),
                                 "--no-progress", "--min-score", "auto"])
    assert result.exit_code == 0, result.output
    threshold = entity_threshold(spacy.load(calibrated["pipeline"]))
    assert threshold is not None
    for full, filtered in zip(read_jsonl(everything), read_jsonl(kept)):
        assert filtered["ents"] == [e for e in full["ents"] if e["score"] >= threshold]
        assert filtered["cats"] == full["cats"]


def test_min_score_filters_and_review_sees_the_unfiltered_records(scored_nlp, tmp_path):
    texts = dev_texts()
    inp = write_input(tmp_path / "in.jsonl", texts)
    everything = tmp_path / "all.jsonl"
    annotate_file(scored_nlp, inp, everything)
    full = read_jsonl(everything)
    scores = sorted(e["score"] for r in full for e in r["ents"])
    cut = scores[len(scores) // 4]  # drops the weakest quarter of the entities
    queue = ReviewQueue(5, RecordLayout.from_pipeline(scored_nlp))
    kept = tmp_path / "kept.jsonl"
    annotate_file(scored_nlp, inp, kept, AnnotateOptions(min_score=cut), review=queue)
    filtered = read_jsonl(kept)
    assert sum(len(r["ents"]) for r in filtered) < sum(len(r["ents"]) for r in full)
    assert all(e["score"] >= cut for r in filtered for e in r["ents"])
    review = tmp_path / "review.jsonl"
    assert queue.write(review) == 5
    lines = read_jsonl(review)
    confidences = [line["confidence"] for line in lines]
    assert confidences == sorted(confidences)
    by_id = {r["id"]: r for r in full}
    for line in lines:  # the reviewer sees every entity, also those under --min-score
        assert line["entities"] == [[e["start"], e["end"], e["label"]]
                                    for e in by_id[line["id"]]["ents"]]
    # ... and the least confident records: none of the others is less confident.
    others = [r for r in full if r["id"] not in {line["id"] for line in lines}]
    layout = RecordLayout.from_pipeline(scored_nlp)
    assert min(record_confidence(r, layout) for r in others) >= confidences[-1]
    docs = list(read_reviewed(review, nlp=scored_nlp))
    assert [doc.text for doc in docs] == [line["text"] for line in lines]


@pytest.mark.parametrize("value", ["1.5", "-0.1", "high"])
def test_bad_min_score_is_refused(calibrated, tmp_path, value):
    inp = write_input(tmp_path / "in.jsonl", dev_texts(2))
    result = CliRunner().invoke(app, ["annotate", str(calibrated["pipeline"]), str(inp),
                                      str(tmp_path / "out.jsonl"), "--min-score", value])
    assert result.exit_code == 1
    assert "--min-score must be a number in [0, 1]" in " ".join(result.output.split())


def test_min_score_needs_an_entity_scorer(en_pipeline_dir, tmp_path):
    inp = write_input(tmp_path / "in.jsonl", dev_texts(2))
    result = CliRunner().invoke(app, ["annotate", str(en_pipeline_dir), str(inp),
                                      str(tmp_path / "out.jsonl"), "--min-score", "0.5"])
    assert result.exit_code == 1
    assert "albert_entity_scorer" in " ".join(result.output.split())


def test_review_and_min_score_are_refused_on_ray(calibrated, tmp_path):
    inp = write_input(tmp_path / "in.jsonl", dev_texts(2))
    result = CliRunner().invoke(app, ["annotate", str(calibrated["pipeline"]), str(inp),
                                      str(tmp_path / "out.jsonl"), "--engine", "ray",
                                      "--review", str(tmp_path / "r.jsonl")])
    assert result.exit_code == 1
    assert "--engine local only" in " ".join(result.output.split())


def test_redact_replaces_per_entities_and_keeps_them_under_min_score(calibrated, tmp_path):
    texts = dev_texts()
    inp = write_input(tmp_path / "in.jsonl", texts)
    plain, redacted = tmp_path / "plain.jsonl", tmp_path / "redacted.jsonl"
    runner = CliRunner()
    result = runner.invoke(app, ["annotate", str(calibrated["pipeline"]), str(inp), str(plain),
                                 "--no-progress"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["annotate", str(calibrated["pipeline"]), str(inp),
                                 str(redacted), "--no-progress", "--redact", "PER",
                                 "--min-score", "0.99"])
    assert result.exit_code == 0, result.output
    assert "--redact PER: the pipeline's recall is" in " ".join(result.output.split())
    n_per = 0
    for before, after in zip(read_jsonl(plain), read_jsonl(redacted)):
        people = [e for e in before["ents"] if e["label"] == "PER"]
        n_per += len(people)
        assert [e for e in after["ents"] if e["redacted"]] == [
            {"start": e["start"], "end": e["end"], "label": "PER", "text": "[PER]",
             "redacted": True, "score": e["score"]} for e in after["ents"] if e["redacted"]]
        assert sum(e["redacted"] for e in after["ents"]) == len(people)
        for ent in after["ents"]:
            assert after["text"][ent["start"]:ent["end"]] == ent["text"]
            assert ent["redacted"] or ent["score"] >= 0.99
        expected = before["text"]
        for person in reversed(people):
            expected = expected[: person["start"]] + "[PER]" + expected[person["end"]:]
        assert after["text"] == expected
    assert n_per > 0


def test_redact_refuses_a_label_the_pipeline_never_predicts(calibrated, tmp_path):
    inp = write_input(tmp_path / "in.jsonl", dev_texts(2))
    result = CliRunner().invoke(app, ["annotate", str(calibrated["pipeline"]), str(inp),
                                      str(tmp_path / "out.jsonl"), "--redact", "PERSON"])
    assert result.exit_code == 1
    assert "PERSON" in result.output
