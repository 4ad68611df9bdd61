"""BENCHMARKS.md's generated block is exactly what bench.render makes of the committed results."""

import json
from pathlib import Path

import pytest

from bench.render import (
    MARK_END,
    MARK_START,
    fmt,
    read_results,
    render,
    replace_block,
    targets,
    write_markdown,
)
from bench.settings import BENCHMARKS_MD, RESULTS


@pytest.fixture(scope="module")
def results() -> dict:
    return read_results(RESULTS)


@pytest.fixture(scope="module")
def rendered(results: dict) -> str:
    return render(results)


def test_committed_results_are_read(results: dict) -> None:
    assert sorted(results) == ["full", "quick"]


def test_render_reproduces_the_committed_block(rendered: str) -> None:
    text = BENCHMARKS_MD.read_text(encoding="utf-8")
    block = text.split(MARK_START, 1)[1].split(MARK_END, 1)[0]
    assert block == f"\n{rendered}\n"


def test_key_figures_appear(results: dict, rendered: str) -> None:
    full, quick = results["full"], results["quick"]
    assert rendered.index("### `python -m bench.run` (results/full.json)") < rendered.index(
        "### `python -m bench.run --quick` (results/quick.json)")
    base = full["inference"]["base/short"]
    joint = base["contenders"]["spacy_joint_fp32"]
    assert (f"| spacy_joint_fp32 | {joint['words_per_s_best']:.0f} | "
            f"{joint['words_per_s_median']:.0f} |") in rendered
    key = "spacy_joint_fp32/hf_pipeline_two"
    assert f"| {key} | {base['ratios'][key]:.2f} | {base['ratios_best'][key]:.2f} |" in rendered
    for row in full["targets"] + quick["targets"]:
        assert f"| {row['target']} | {row['measured']:.2f}× |" in rendered
    for name, row in full["accuracy"]["systems"].items():
        assert (f"| {name} | {row['conll_f1']:.2f} | {row['sst2_accuracy']:.2f} | "
                f"{row['train_eval_seconds']:.0f} |") in rendered
    mlm = full["accuracy"]["mlm"]
    assert f"loss {mlm['loss_first10']} → {mlm['loss_last10']}" in rendered
    training = quick["training"]
    assert (f"| {training['spacy_words_per_s']:.0f} | {training['hf_words_per_s']:.0f} | "
            f"{training['ratio_spacy_over_hf']:.2f} |") in rendered
    for size, row in full["disk"].items():
        assert f"| {size} | {row['fp32_mb']:.2f} | {row['int8_mb']:.2f} |" in rendered
    for run, rows in full["rss"].items():
        for name, row in rows.items():
            assert f"| {run} | {name} | {fmt(row.get('after_imports_mb'), 0)} |" in rendered


def test_targets_from_ratios() -> None:
    section = {"ratios": {"spacy_joint_fp32/hf_pipeline_two": 2.1,
                          "spacy_joint_fp32/hf_raw_two": 1.5},
               "ratios_best": {"spacy_joint_fp32/hf_pipeline_two": 2.5,
                               "spacy_joint_fp32/hf_raw_two": 1.55}}
    rows = targets({"base/short": section})
    assert [(row["measured"], row["median"], row["verdict"]) for row in rows] == [
        (2.5, 2.1, "met"), (1.55, 1.5, "missed by 0.25×")]
    assert targets({"tiny/short": section}) == []


def test_fmt() -> None:
    assert fmt(None) == "–"
    assert fmt(1.2345) == "1.23"
    assert fmt(1523.6, 0) == "1524"
    assert fmt(7) == "7"


def test_replace_block_keeps_the_hand_written_text() -> None:
    block = f"{MARK_START}\nnew\n{MARK_END}"
    text = f"# B\n\nintro\n\n{MARK_START}\nold\n{MARK_END}\n\nnotes\n"
    assert replace_block(text, "new") == f"# B\n\nintro\n\n{block}\n\nnotes\n"
    assert replace_block("# B\n\nintro\n", "new") == f"# B\n\nintro\n\n{block}\n"
    assert replace_block(None, "new") == f"# Benchmarks\n\n{block}\n"


def test_write_markdown_skips_unfinished_and_foreign_json(tmp_path: Path) -> None:
    full = json.loads((RESULTS / "full.json").read_text(encoding="utf-8"))
    (tmp_path / "full.json").write_text(json.dumps(full), encoding="utf-8")
    (tmp_path / "writing.json").write_text('{"meta": {', encoding="utf-8")
    (tmp_path / "other.json").write_text('{"no": "meta"}', encoding="utf-8")
    markdown = tmp_path / "BENCHMARKS.md"
    write_markdown(tmp_path, markdown)
    assert markdown.read_text(encoding="utf-8") == replace_block(None, render({"full": full}))
