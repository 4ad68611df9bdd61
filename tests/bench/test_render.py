"""BENCHMARKS.md's generated block is exactly what bench.render makes of the committed results,
and the renderer shows every section of today's results format."""

import json
from pathlib import Path

import pytest

from bench.fairness import DID_NOT_LEARN, FAIRNESS_RULES
from bench.render import (
    LEGACY_NOTE,
    MARK_END,
    MARK_START,
    fmt,
    is_legacy,
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
    assert {"full", "quick"} <= set(results)


def test_render_reproduces_the_committed_block(rendered: str) -> None:
    text = BENCHMARKS_MD.read_text(encoding="utf-8")
    block = text.split(MARK_START, 1)[1].split(MARK_END, 1)[0]
    assert block == f"\n{rendered}\n"


def test_every_committed_file_records_cpu_and_command_or_is_marked_superseded(
        results: dict, rendered: str) -> None:
    assert rendered.startswith(FAIRNESS_RULES)
    for name, res in results.items():
        meta = res["meta"]
        assert meta["command"] and meta["cpu"]
        if is_legacy(meta):
            after = rendered.split(f"(results/{name}.json)", 1)[1]
            assert after.split("### ", 1)[0].rstrip().endswith(LEGACY_NOTE.rstrip())
        else:
            assert meta["cpu_info"]["flags"] is not None and "emulated" in meta


def cell(mean: float, sd: float, n: int = 3) -> dict:
    return {"mean": mean, "sd": sd, "n": n}


def new_format_results() -> dict:
    """A small results file in today's format (every section the renderer knows)."""
    contenders = {"spacy_joint_fp32": 1000.0, "spacy_joint_int8": 1700.0, "hf_raw_two": 500.0,
                  "hf_raw_two_int8": 800.0}
    inference = {"contenders": {n: {"seconds": [1.0], "words_per_s_best": v,
                                    "words_per_s_median": v} for n, v in contenders.items()},
                 "words": 1000, "texts": 32, "rounds": 1, "batch_size": 64,
                 "ratios": {"spacy_joint_fp32/hf_raw_two": 2.0,
                            "spacy_joint_int8/spacy_joint_fp32": 1.7},
                 "ratios_best": {"spacy_joint_fp32/hf_raw_two": 2.0,
                                 "spacy_joint_int8/spacy_joint_fp32": 1.7}}
    res = {
        "meta": {"command": "python -m bench.run --quick", "date": "2026-01-01 00:00",
                 "cpu": "AMD EPYC, 2 cores, avx2 fma", "cpu_info": {"flags": ["avx2", "fma"]},
                 "emulated": True, "torch": "2.13", "threads": 2, "loadavg_start": "1.0",
                 "loadavg_end": "1.0", "seconds": 100.0, "complete": True},
        "inference": {"base/short": inference},
        "headlines": {"base/short": {"ours": "spacy_joint_int8", "hf": "hf_raw_two_int8",
                                     "ratio": 2.125, "ratio_median": 2.1,
                                     "accuracy_loss_not_measured": ["spacy_joint_int8"]}},
        "training": {"small": {"steps": 12, "batch": "32 + 32", "spacy_words_per_s": 900.0,
                               "hf_words_per_s": 1000.0, "ratio_spacy_over_hf": 0.9,
                               "timed": "batch building, forward, backward, step"}},
        "training_profile": {"small": {
            "steps": 12, "batch": "32 + 32",
            "spacy_ms_per_step": {"examples": 10.0, "encoder forward": 60.0,
                                  "heads and the rest": 30.0},
            "spacy_share": {"examples": 0.1, "encoder forward": 0.6, "heads and the rest": 0.3},
            "spacy_total_ms": 100.0, "hf_total_ms": 90.0, "hf_tokenize_ms": 5.0,
            "pieces_per_step": {"spacy_padded": 4000, "hf_padded": 3800, "real": 1600}}},
        "accuracy": {
            "budget": {"learn_rate_grid": [1e-4, 1e-3], "seeds": [0, 1, 2]},
            "systems": {
                "spacy-albert": {"learn_rate": 1e-3, "did_not_learn": [],
                                 "dev_by_learn_rate": {"0.001": {"conll_f1": 70.0,
                                                                 "sst2_accuracy": 75.0}},
                                 "test": {"fp32": {"conll_f1": cell(71.5, 0.4),
                                                   "sst2_accuracy": cell(74.2, 1.1)},
                                          "int8": {"conll_f1": cell(71.2, 0.5),
                                                   "sst2_accuracy": cell(74.0, 1.0)}}},
                "HF loop, two models": {
                    "learn_rate": 1e-4, "did_not_learn": ["sst2_accuracy"],
                    "dev_by_learn_rate": {"0.0001": {"conll_f1": 60.0, "sst2_accuracy": 50.1}},
                    "test": {"fp32": {"conll_f1": cell(60.0, 2.0),
                                      "sst2_accuracy": cell(50.1, 0.0)}},
                    "loss_curves": {"seed 0": {"token_classifier": [2.2, 0.4],
                                               "sequence_classifier": [0.69, 0.69]}}},
            },
            "accuracy_loss": {"ours": {"int8": 0.3}, "hf": {"int8": 0.1}},
        },
        "kernels": {"model": "init-model --size base", "texts": 64, "words": 1600, "rounds": 7,
                    "clock": "cpu",
                    "default": "fbgemm", "available": ["fbgemm", "float"],
                    "words_per_s_best": {"fp32": 400.0, "int8_fbgemm": 700.0},
                    "over_fp32": {"int8_fbgemm": {"median": 1.7, "best": 1.75}}},
    }
    res["targets"] = targets(res)
    return res


def test_key_figures_of_a_new_format_file_appear() -> None:
    res = new_format_results()
    text = render({"quick": res})
    assert "**AVX2-only CPU emulated**" in text
    assert "| base/short | spacy_joint_int8 | hf_raw_two_int8 | 2.12× | 2.10× | " \
           "spacy_joint_int8 |" in text
    assert "| spacy_joint_fp32/hf_raw_two | 2.00 | 2.00 |" in text
    assert "| small | 900 | 1000 | 0.90 |" in text
    assert "| encoder forward | 60.0 (60 %) |" in text
    assert "| HF loop, two updates (of which tokenization) | 90.0 (5.0) |" in text
    assert "| encoder input per step, pieces: spaCy padded / HF padded / real | " \
           "4000 / 3800 / 1600 |" in text
    assert "| spacy-albert | fp32 | 0.001 | 71.50 ± 0.40 | 74.20 ± 1.10 | 3 |" in text
    assert "|  | int8 |  | 71.20 ± 0.50 | 74.00 ± 1.00 | 3 |" in text
    assert f"| HF loop, two models | fp32 | 0.0001 | 60.00 ± 2.00 | {DID_NOT_LEARN} | 3 |" in text
    assert "token_classifier 2.2 → 0.4" in text
    assert "ours int8 0.3; hf int8 0.1" in text
    assert "| int8_fbgemm | 700 | 1.70× | 1.75× |" in text
    assert "Default kernel on this CPU: fbgemm (available: fbgemm, float)." in text


def test_targets_from_ratios_and_the_headline() -> None:
    res = new_format_results()
    rows = {row["target"].split(":")[0]: row for row in targets(res)}
    headline = rows["fastest ours ≥ 1.6× fastest HF (headline rule)"]
    assert (headline["measured"], headline["verdict"]) == (2.125, "met")
    assert rows["fp32 joint ≥ 1.8× HF raw two-model fp32 (fused GELU on both sides)"][
        "verdict"] == "met"
    int8 = rows["int8 joint ≥ 1.5× our own fp32 joint"]
    assert (int8["measured"], int8["median"], int8["verdict"]) == (1.7, 1.7, "met")
    res["inference"]["base/short"]["ratios_best"]["spacy_joint_fp32/hf_raw_two"] = 1.55
    missed = [r for r in targets(res) if r["target"].startswith("fp32 joint")]
    assert missed[0]["verdict"] == "missed by 0.25×"
    assert targets({"inference": {"tiny/short": {}}}) == []


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
    full = new_format_results()
    (tmp_path / "full.json").write_text(json.dumps(full), encoding="utf-8")
    (tmp_path / "writing.json").write_text('{"meta": {', encoding="utf-8")
    (tmp_path / "other.json").write_text('{"no": "meta"}', encoding="utf-8")
    markdown = tmp_path / "BENCHMARKS.md"
    write_markdown(tmp_path, markdown)
    assert markdown.read_text(encoding="utf-8") == replace_block(None, render({"full": full}))
