"""The deployment section of BENCHMARKS.md is what the committed results files say."""

import json

from bench.render_deploy import BENCHMARKS_MD, END, RESULTS, START, render, replace_block


def test_committed_section_is_rendered_from_the_committed_results():
    text = BENCHMARKS_MD.read_text(encoding="utf-8")
    block = text.split(START, 1)[1].split(END, 1)[0]
    assert START + block + END == render()


def test_key_figures_appear():
    block = render()
    serve = json.loads((RESULTS / "serve_load.json").read_text(encoding="utf-8"))
    for phase in serve["phases"]:
        assert f"| {phase['clients']} | {phase['requests_per_s']:.1f} |" in block
    onnx = json.loads((RESULTS / "onnx.json").read_text(encoding="utf-8"))
    base = onnx["sizes"]["base"]["contenders"]["onnx_int8"]
    assert f"{base['speedup_vs_torch_fp32']:.2f}x" in block


def test_replace_block_appends_once_then_replaces():
    once = replace_block("# Benchmarks\n", START + "\nA\n" + END)
    assert once.count(START) == 1
    twice = replace_block(once, START + "\nB\n" + END)
    assert twice.count(START) == 1 and "B" in twice and "\nA\n" not in twice


def test_every_run_block_has_the_meta_format_of_bench_meta():
    # The files bench.render does not read (their machine block is `run`, not `meta`) carry
    # the same block as the rest: command, date, CPU line and cpu_info with the flags used.
    run_files = [path for path in sorted(RESULTS.glob("*.json"))
                 if "run" in json.loads(path.read_text(encoding="utf-8"))]
    assert {path.stem for path in run_files} >= {"serve_load", "onnx"}
    for path in run_files:
        run = json.loads(path.read_text(encoding="utf-8"))["run"]
        assert run["command"].startswith("python -m bench."), path
        assert run["cpu"] == run["cpu_info"]["summary"], path
        assert run["cpu_info"]["flags"] and "emulated" in run, path
