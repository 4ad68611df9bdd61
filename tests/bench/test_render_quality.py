"""The accuracy-and-confidence section of BENCHMARKS.md is what the committed results say."""

import json

from bench.render_deploy import BENCHMARKS_MD, RESULTS
from bench.render_quality import END, START, render


def test_committed_section_is_rendered_from_the_committed_results():
    text = BENCHMARKS_MD.read_text(encoding="utf-8")
    block = text.split(START, 1)[1].split(END, 1)[0]
    assert START + block + END == render()


def test_calibration_figures_appear():
    block = render()
    for path in RESULTS.glob("calibration_*.json"):
        summary = json.loads(path.read_text(encoding="utf-8"))["summary"]
        for head in summary["heads"].values():
            assert f"{head['ece_before']['mean']:.3f} ± {head['ece_before']['sd']:.3f}" in block
            assert f"| {head['splits_lower']} / {head['splits_unchanged']} / " in block


def test_readme_quotes_the_committed_pretrained_results():
    """README's pretrained table shows the test scores of the committed results file."""
    readme = (BENCHMARKS_MD.parent / "README.md").read_text(encoding="utf-8")
    paths = sorted(RESULTS.glob("en_pretrained_*.json"))
    assert paths, "no committed en-pretrained results"
    for path in paths:
        assert str(path.relative_to(BENCHMARKS_MD.parent)) in readme
        for numbers in json.loads(path.read_text(encoding="utf-8"))["systems"].values():
            assert f"{100 * numbers['test']['ents']['f']:.1f}" in readme
