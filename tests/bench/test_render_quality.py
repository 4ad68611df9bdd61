"""The accuracy-and-confidence section of BENCHMARKS.md is what the committed results say."""

import json

import pytest

from bench.render_deploy import BENCHMARKS_MD, RESULTS
from bench.render_quality import END, START, render
from tests.bench.conftest import run_block


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


def test_compare_section_reports_each_systems_seeds_and_the_gaps():
    from bench.render_quality import compare_section

    def system(description, rate, test_f1=None, dev_acc=None):
        summary = {}
        if test_f1 is not None:
            summary["test_conll_f1"] = {"mean": test_f1, "sd": 0.4}
        if dev_acc is not None:
            summary["dev_sst2_accuracy"] = {"mean": dev_acc, "sd": 0.2}
        scores = {"conll_f1": test_f1, "sst2_accuracy": dev_acc}
        selection = [value for value in scores.values() if value is not None][0]
        return {"description": description, "lr_search": {"5e-05": scores, "0.0001": scores},
                "lr_selection": {"5e-05": selection, "0.0001": selection}, "learn_rate": rate,
                "runs": [{"train_seconds": 120.0}] * 3, "summary": summary}

    results = {
        "meta": run_block("python -m bench.pretrained_compare --steps 300"),
        "budget": {"steps": 300, "batch": 32, "batch_words": 1000, "seeds": 3,
                   "lr_grid": [5e-5, 1e-4], "schedule": "AdamW"},
        "systems": {"albert-document": system("ours", 1e-4, 80.5, 85.0),
                    "hf-ner": system("token classifier", 5e-5, test_f1=79.0),
                    "hf-sst2": system("sequence classifier", 1e-4, dev_acc=85.5)},
    }
    meta = results.pop("meta")
    text = "\n".join(compare_section([(meta, RESULTS / "pretrained_compare_x.json")], results))
    assert "| 80.5 ± 0.4 |" in text and "| 79.0 ± 0.4 |" in text
    assert "CoNLL test F1 +1.5 points against `hf-ner`'s mean" in text
    assert "SST-2 dev accuracy -0.5 points against `hf-sst2`'s" in text
    assert "(300 updates)" in text and "2.0 min" in text
    assert "a joint spacy-albert update is 1,000 words of both tasks" in text
    assert "albert-sst2` update" not in text
    assert "No spacy-albert system" not in text
    assert "Settings in brackets" not in text
    # The textcat-only system updates on as many SST-2 texts as the HF classifier.
    results["systems"]["albert-sst2"] = system("textcat alone", 1e-4, dev_acc=86.0)
    text = "\n".join(compare_section([(meta, RESULTS / "pretrained_compare_x.json")], results))
    assert ("a joint spacy-albert update is 1,000 words of both tasks (as many as 32 CoNLL "
            "sentences plus as many SST-2 texts); an `albert-sst2` update is 32 SST-2 texts, "
            "as the HF sentence classifier's.") in text
    assert "`albert-sst2`: SST-2 dev accuracy +0.5 points against `hf-sst2`'s mean." in text
    del results["systems"]["albert-sst2"]
    # A run on a continued-pretrained checkpoint is also set against its base system.
    results["systems"]["albert-document @ en-tapt"] = system("ours, tapt", 1e-4, 81.0, 84.0)
    results["variants"] = {"albert-document @ en-tapt": {
        "base": "albert-document", "without": ["continued pretraining"]}}
    text = "\n".join(compare_section([(meta, RESULTS / "pretrained_compare_x.json")], results))
    assert ("`albert-document @ en-tapt` against `albert-document` without continued "
            "pretraining: CoNLL test F1 +0.5, SST-2 dev accuracy -1.0 points.") in text
    del results["systems"]["albert-document @ en-tapt"]
    # So is one trained with config overrides.
    results["systems"]["albert-document [textcat.model.tok2vec.grad_factor=4]"] = system(
        "ours, overridden", 1e-4, 80.0, 86.0)
    results["variants"] = {"albert-document [textcat.model.tok2vec.grad_factor=4]": {
        "base": "albert-document", "without": ["the overrides"]}}
    text = "\n".join(compare_section([(meta, RESULTS / "pretrained_compare_x.json")], results))
    assert ("`albert-document [textcat.model.tok2vec.grad_factor=4]` against `albert-document` "
            "without the overrides: CoNLL test F1 -0.5, SST-2 dev accuracy +1.0 points.") in text
    assert ("SST-2 texts). Settings in brackets after a system's name replace these (and its "
            "config's) for its runs.") in text
    del results["systems"]["albert-document [textcat.model.tok2vec.grad_factor=4]"]
    del results["systems"]["albert-document"]
    text = "\n".join(compare_section([(meta, RESULTS / "pretrained_compare_x.json")], results))
    assert "No spacy-albert system has run at this budget yet" in text
    # An en-pretrained run of the budget's length stands for the spacy-albert side.
    joint = {"context": "sentence", "systems": {"albert": {
        "training": {"steps": 300, "words": 195000},
        "test": {"ents": {"f": 0.80, "seqeval_f": 0.8012}},
        "dev": {"cats": {"textcat": {"accuracy": 0.8612}}}}}}
    longer = json.loads(json.dumps(joint))
    longer["systems"]["albert"]["training"]["steps"] = 3000
    text = "\n".join(compare_section([(meta, RESULTS / "pretrained_compare_x.json")], results,
                                     [(joint, RESULTS / "en_pretrained_x.json"),
                                      (longer, RESULTS / "en_pretrained_y.json")]))
    assert ("The `en-pretrained` run (`en_pretrained_x.json`: the joint pipeline, sentence "
            "context, one run of 300 updates of 650 words of both tasks on average) at this "
            "number of updates: CoNLL test F1 80.1, +1.1 points against `hf-ner`'s mean; "
            "SST-2 dev accuracy 86.1, +0.6 points against `hf-sst2`'s mean.") in text
    assert "en_pretrained_y.json" not in text
    assert "No spacy-albert system" not in text
    assert "spacy-albert update is" not in text  # the joint run's update is in its line
    assert "best on dev from the grid [5e-05, 0.0001] at seed 0" in text
    assert "then 3 seeds at that rate, mean ± sd." in text
    # Where a system tried fewer rates than the grid holds (no search at this budget).
    hf_ner = results["systems"]["hf-ner"]
    results["systems"]["hf-ner"] = {**hf_ner, "lr_search": {"5e-05": hf_ner["lr_search"]["5e-05"]},
                                    "lr_selection": {"5e-05": 79.0}}
    text = "\n".join(compare_section([(meta, RESULTS / "pretrained_compare_x.json")], results))
    assert ("Each system's learning rate is its best on dev at seed 0 among the rates of its "
            "grid column (CoNLL F1 and/or SST-2 accuracy, averaged), from the grid "
            "[5e-05, 0.0001]; one with a single rate there had no search at this budget. "
            "Then 3 seeds at that rate, mean ± sd.") in text
    results["systems"]["hf-ner"] = hf_ner
    results["budget"]["lr_grid"] = [1e-4]
    text = "\n".join(compare_section([(meta, RESULTS / "pretrained_compare_x.json")], results))
    assert ("Every system trains at the one rate of its grid, 0.0001 (no search at this "
            "budget); 3 seeds, mean ± sd.") in text
    # Systems with more seeds (a file --extend-ed) send the reader to the seeds column.
    results["systems"]["hf-sst2"]["runs"] = [{"train_seconds": 120.0}] * 5
    text = "\n".join(compare_section([(meta, RESULTS / "pretrained_compare_x.json")], results))
    assert "budget); as many seeds as its row's seeds column says, mean ± sd." in text
    assert "| 0.0001 | 5 |" in text
    assert "stopped before it finished" not in text
    # A stopped file's rows are its completed runs, and the section says so, naming it.
    text = "\n".join(compare_section([(meta, RESULTS / "pretrained_compare_x.json"),
                                      ({**meta, "complete": False},
                                       RESULTS / "pretrained_compare_y.json")], results))
    assert ("The run of `pretrained_compare_y.json` was stopped before it finished: its rows "
            "are the runs it completed.") in text
    assert "pretrained_compare_x.json` was stopped" not in text


def test_comparisons_run_per_system_are_merged_by_budget(tmp_path):
    from bench.render_quality import merged_comparisons

    def write(name, budget, systems):
        path = tmp_path / name
        path.write_text(json.dumps({"meta": run_block(name), "budget": budget,
                                    "systems": systems}))
        return path

    def system(tag, seeds=3, rates=1):
        return {"runs": [{"seed": seed} for seed in range(seeds)], "tag": tag,
                "lr_search": {f"{n}e-4": {} for n in range(1, rates + 1)}}

    short = {"steps": 300, "seeds": 3, "lr_grid": [5e-5, 1e-4], "model": "/a/en-pretrained"}
    long = {"steps": 3000, "seeds": 3, "lr_grid": [5e-5], "model": "/a/en-pretrained"}
    # A run on a checkpoint after continued pretraining, at one rate, joins its budget.
    tapt = {**short, "lr_grid": [2e-4], "model": "/b/en-tapt",
            "model_pretraining": {"steps": 300}}
    # So does one with config overrides, whatever number of processes trained its seeds.
    overridden = {**short, "lr_grid": [2e-4], "jobs": 2,
                  "albert_overrides": {"components.textcat.model.tok2vec.grad_factor": 4.0}}
    # And one that extends a file with more seeds: its systems stand for that file's.
    extended = {**short, "seeds": 5, "jobs": 2}
    paths = [write("a.json", short, {"albert-document": system(1)}),
             write("b.json", short, {"hf-ner": system(2), "hf-sst2": system(3)}),
             write("b_5seeds.json", extended, {"hf-sst2": system(7, seeds=5)}),
             write("c.json", long, {"hf-ner": system(4)}),
             write("d.json", tapt, {"albert-document": system(5)}),
             write("e.json", overridden, {"albert-document": system(6)}),
             write("f.json", short, {"hf-sst2": system(8, seeds=1)}),
             # One that tried more rates stands, even with fewer seeds.
             write("g_grid.json", {**short, "jobs": 2}, {"hf-ner": system(9, rates=2)}),
             write("h.json", short, {"hf-ner": system(10, seeds=5)})]
    (first_runs, first), (second_runs, second) = merged_comparisons(paths)
    assert [path.name for _, path in first_runs] == ["a.json", "b.json", "b_5seeds.json",
                                                     "d.json", "e.json", "f.json",
                                                     "g_grid.json", "h.json"]
    assert first["budget"] == {**short, "lr_grid": [5e-5, 1e-4, 2e-4]}
    assert {name: system["tag"] for name, system in first["systems"].items()} == {
        "albert-document": 1, "hf-ner": 9, "hf-sst2": 7, "albert-document @ en-tapt": 5,
        "albert-document [textcat.model.tok2vec.grad_factor=4]": 6}
    assert first["pretraining"] == {"albert-document @ en-tapt": {"steps": 300}}
    assert first["variants"] == {
        "albert-document @ en-tapt": {"base": "albert-document",
                                      "without": ["continued pretraining"]},
        "albert-document [textcat.model.tok2vec.grad_factor=4]": {
            "base": "albert-document", "without": ["the overrides"]}}
    assert [meta["command"] for meta, _ in second_runs] == ["c.json"]
    assert second["systems"] == {"hf-ner": system(4)} and second["pretraining"] == {}


def test_variant_names_write_overrides_as_a_config_does():
    from bench.render_quality import variant_name

    head = {"@architectures": "spacy.TextCatParametricAttention.v1", "exclusive_classes": True,
            "nO": None, "tok2vec": {"@architectures": "spacy-transformers.TransformerListener.v1",
                                    "grad_factor": 4.0,
                                    "pooling": {"@layers": "reduce_mean.v1"}}}
    budget = {"albert_overrides": {"components.textcat.model": head,
                                   "components.textcat.model.use_reduce_max": True}}
    name, base, differences = variant_name("albert-sentence", budget)
    assert name == ("albert-sentence [textcat.model=spacy.TextCatParametricAttention.v1("
                    "exclusive_classes=true, tok2vec=spacy-transformers.TransformerListener.v1("
                    "grad_factor=4, pooling=reduce_mean.v1())), "
                    "textcat.model.use_reduce_max=true]")
    assert base == "albert-sentence" and differences == ["the overrides"]
    # The HF loop never takes the spacy-albert overrides, only its own.
    assert variant_name("hf-sst2", budget) == ("hf-sst2", "hf-sst2", [])
    loop = {"hf_overrides": {"grad_clip": 0.0}}
    assert variant_name("hf-sst2", {**budget, **loop}) == ("hf-sst2 [grad_clip=0]", "hf-sst2",
                                                           ["the overrides"])
    assert variant_name("albert-sst2", loop) == ("albert-sst2", "albert-sst2", [])


def test_variant_names_carry_the_shipped_configs_later_changes():
    """configs/textcat.cfg turned clipping off and averages on (SHIPPED_CONFIG_CHANGES): a
    later run trained with them without saying so, and is named and based as if it had."""
    from bench.render_quality import variant_name

    changed = "albert-sst2 [training.optimizer.grad_clip=0, training.optimizer.use_averages=true]"
    before, after = "2026-12-01 10:00", "2026-12-02 13:17"
    assert variant_name("albert-sst2", {}, before) == ("albert-sst2", "albert-sst2", [])
    # A later plain run is the changed config's system, not a variant of anything.
    assert variant_name("albert-sst2", {}, after) == (changed, changed, [])
    # A later head override is set against the changed config, not the config before it.
    head = {"components.textcat.model.use_reduce_max": True}
    assert variant_name("albert-sst2", {"albert_overrides": head}, after) == (
        changed[:-1] + ", textcat.model.use_reduce_max=true]", changed, ["the overrides"])
    # A run that overrode the changed settings itself is set against the config before.
    explicit = {"training.optimizer.grad_clip": 0.0, "training.optimizer.use_averages": True}
    assert variant_name("albert-sst2", {"albert_overrides": explicit}, after) == (
        changed, "albert-sst2", ["the overrides"])
    # Other systems' configs did not change.
    assert variant_name("albert-sentence", {}, after) == ("albert-sentence", "albert-sentence",
                                                         [])


def test_pretraining_line_says_what_continued_pretraining_did():
    from bench.render_quality import pretraining_line

    log = {"corpus": ["/x/train/conll.spacy", "/x/train/sst2.spacy"], "corpus_words": 350000,
           "steps": 300, "batch_size": 32, "max_length": 128, "learn_rate": 1e-4}
    line = pretraining_line("albert-document @ en-tapt", log, n_rates=1)
    assert "`train/conll.spacy`, `train/sst2.spacy` (350,000 words)" in line
    assert "300 updates of 32 blocks of up to 128 pieces at lr 0.0001;" in line
    assert "one rate in its grid column" in line
    assert pretraining_line("x", log, n_rates=3).endswith("at lr 0.0001.")


def test_sparse_section_reports_each_system_and_the_gap():
    from bench.render_quality import sparse_section

    def system(test_f1):
        return {"runs": [{"train_seconds": 90.0}] * 3,
                "summary": {"test_f1": {"mean": test_f1, "sd": 0.5},
                            "dev_f1": {"mean": test_f1 + 2, "sd": 0.3}}}

    split = {"sentences": 1000, "mentions": 600, "mentions_per_sentence": 0.6}
    results = {"meta": run_block("python -m bench.sparse_entities --seeds 3"),
               "setup": {"splits": {"train": split, "dev": split, "test": split},
                         "noise_share": 0.3, "epochs": 3, "batch": 16, "steps": 638,
                         "warmup": 63, "learn_rate": 5e-5},
               "systems": {"hf-ner": system(42.0), "albert-ner/default": system(40.0)}}
    text = "\n".join(sparse_section(results, RESULTS / "sparse_entities_x.json"))
    assert "| `hf-ner` | 3 | 42.0 ± 0.5 | 44.0 ± 0.3 | 1.5 min |" in text
    assert "`albert-ner/default`: test F1 -2.0 points against `hf-ner`'s mean." in text
    assert "638 updates" in text and "30 % of the sentences" in text
    assert "stopped before it finished" not in text
    results["meta"]["complete"] = False
    text = "\n".join(sparse_section(results, RESULTS / "sparse_entities_x.json"))
    assert "The run was stopped before it finished" in text


def test_readme_quotes_the_committed_comparison():
    """README's same-checkpoint tables show each system's test scores and SST-2 dev accuracy
    (where the rates were picked), as BENCHMARKS does; the HF side's too where an
    `en-pretrained` run trained for the same number of updates."""
    from bench.render_quality import mean_sd_cell, merged_comparisons

    readme = (BENCHMARKS_MD.parent / "README.md").read_text(encoding="utf-8")
    joint_steps = {json.loads(path.read_text(encoding="utf-8"))["systems"]["albert"]
                   ["training"]["steps"] for path in RESULTS.glob("en_pretrained_*.json")}
    for runs, merged in merged_comparisons(sorted(RESULTS.glob("pretrained_compare*.json"))):
        if (not any(name.startswith("albert") for name in merged["systems"])
                and merged["budget"]["steps"] not in joint_steps):
            continue  # only the HF side has run at this budget: README quotes nothing
        for _, path in runs:
            assert str(path.relative_to(BENCHMARKS_MD.parent)) in readme
        for name, system in merged["systems"].items():
            for key in ("test_conll_f1", "test_sst2_accuracy", "dev_sst2_accuracy"):
                if key in system["summary"]:
                    assert f"| {mean_sd_cell(system['summary'], key)} |" in readme, (name, key)


def test_gaps_are_given_against_the_hf_model_and_each_of_its_variants():
    from bench.render_quality import hf_gap_parts

    def summary(mean: float) -> dict:
        return {"summary": {"dev_sst2_accuracy": {"mean": mean, "sd": 0.1, "n": 3}}}

    systems = {"hf-sst2": summary(87.5), "hf-sst2 [grad_clip=0]": summary(87.8),
               "hf-sst2x": summary(99.0)}
    assert hf_gap_parts({"dev_sst2_accuracy": {"mean": 87.4}}, systems) == [
        "SST-2 dev accuracy -0.1 points against `hf-sst2`'s mean",
        "SST-2 dev accuracy -0.4 points against `hf-sst2 [grad_clip=0]`'s mean"]
    # With seeds on both sides the gap carries its standard error, sqrt(sd²/n + sd²/n).
    ours = {"dev_sst2_accuracy": {"mean": 87.4, "sd": 0.4, "n": 4}}
    assert hf_gap_parts(ours, {"hf-sst2": summary(87.5)}) == [
        "SST-2 dev accuracy -0.1 points against `hf-sst2`'s mean (standard error 0.2)"]


def test_gap_standard_error_needs_two_seeds_a_side():
    from bench.render_quality import gap_standard_error

    ours = {"dev_sst2_accuracy": {"mean": 87.0, "sd": 0.6, "n": 4}}
    theirs = {"dev_sst2_accuracy": {"mean": 87.5, "sd": 0.8, "n": 4}}
    assert gap_standard_error(ours, theirs, "dev_sst2_accuracy") == pytest.approx(0.5)
    one_seed = {"dev_sst2_accuracy": {"mean": 87.5, "sd": 0.0, "n": 1}}
    assert gap_standard_error(ours, one_seed, "dev_sst2_accuracy") is None
    assert gap_standard_error(ours, {"dev_sst2_accuracy": {"mean": 87.5}},
                              "dev_sst2_accuracy") is None
    assert gap_standard_error(ours, {}, "dev_sst2_accuracy") is None


def test_signed_differences_never_read_minus_zero():
    from bench.render_quality import signed

    assert [signed(value) for value in (0.34, -1.25, -0.02, 0.04, 0.0)] == [
        "+0.3", "-1.2", "+0.0", "+0.0", "+0.0"]
