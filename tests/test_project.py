"""project.yml: every workflow step's inputs exist before it runs, and the offline
workflow reads only what the repository ships."""

import importlib
import shlex
from pathlib import Path

import pytest
from spacy.util import load_config
from weasel.util import load_project_config

ROOT = Path(__file__).resolve().parent.parent
# The vars a smoke run of en-pretrained overrides, and the document/sentence switch.
SMOKE_VARS = {"vars.max_train_docs": 4, "vars.max_eval_docs": 3, "vars.pretrained_steps": 30,
              "vars.cnn_steps": 30, "vars.compare_steps": 10, "vars.compare_seeds": 1,
              "vars.compare_lr_grid": "1e-4"}


@pytest.fixture(scope="module")
def project() -> dict:
    return load_project_config(ROOT)


def commands_by_name(project: dict) -> dict[str, dict]:
    return {command["name"]: command for command in project["commands"]}


def check_chain(project: dict, workflow: str) -> None:
    """Every step's deps are written by an earlier step, shipped, or real data."""
    commands = commands_by_name(project)
    data_dir = project["vars"]["data_dir"]
    produced: set[str] = set()
    for name in project["workflows"][workflow]:
        command = commands[name]
        for dep in command.get("deps", []):
            if dep.startswith(data_dir):
                continue  # the real data sets: not shipped, read from data_dir
            assert dep in produced or (ROOT / dep).exists(), (
                f"{workflow}: step {name!r} needs {dep!r}, which no earlier step writes "
                "and the repository does not ship"
            )
        produced.update(command.get("outputs", []))


@pytest.mark.parametrize("workflow", ["all", "en", "zh", "en-pretrained"])
def test_each_step_depends_only_on_earlier_outputs_or_inputs_that_exist(
    project: dict, workflow: str
) -> None:
    check_chain(project, workflow)


@pytest.mark.parametrize("context", ["sentence", "document"])
def test_en_pretrained_chain_holds_in_both_contexts_and_with_smoke_vars(context: str) -> None:
    overrides = {**SMOKE_VARS, "vars.en_pretrained_context": context}
    project = load_project_config(ROOT, overrides=overrides)
    check_chain(project, "en-pretrained")
    commands = commands_by_name(project)
    train = " ".join(commands["en-pretrained-train"]["script"])
    assert f"--paths.train corpus/en_pretrained_real/{context}/train " in train
    assert "--training.max_steps 30 " in train
    evaluate = commands["en-pretrained-evaluate"]["outputs"]
    assert evaluate == [f"metrics/en_pretrained/albert_{context}/{split}/scores.json"
                        for split in ("dev", "test")]
    cnn = commands["en-pretrained-cnn-evaluate"]["outputs"]
    assert cnn == [f"metrics/en_pretrained/cnn_{context}/{split}/scores.json"
                   for split in ("dev", "test")]


def test_en_pretrained_trains_its_baselines_on_the_same_data(project: dict) -> None:
    commands = commands_by_name(project)
    joint = shlex.split(commands["en-pretrained-train"]["script"][0])
    cnn = shlex.split(commands["en-pretrained-cnn-train"]["script"][0])
    train_dir = joint[joint.index("--paths.train") + 1]
    assert cnn[cnn.index("--paths.train") + 1] == f"{train_dir}/conll.spacy"
    assert joint[joint.index("--paths.transformer") + 1] == "models/en-pretrained"
    compare = shlex.split(commands["en-pretrained-compare"]["script"][0])
    assert compare[compare.index("--model") + 1] == "models/en-pretrained"
    assert compare[compare.index("--out") + 1] == "bench/results/pretrained_compare.json"
    assert commands["en-pretrained-compare"]["outputs"] == [
        "bench/results/pretrained_compare.json"]


def test_offline_workflow_reads_no_external_data(project: dict) -> None:
    commands = commands_by_name(project)
    data_dir = project["vars"]["data_dir"]
    for name in project["workflows"]["all"]:
        command = commands[name]
        assert not any(data_dir in line for line in command["script"]), name
        assert not any(dep.startswith(data_dir) for dep in command.get("deps", [])), name


def test_scripts_call_registered_cli_commands(project: dict) -> None:
    """Every `python -m spacy_albert X` in project.yml names a command the CLI has."""
    from spacy_albert.cli import app

    names = {command.name for command in app.registered_commands}
    names |= {group.name for group in app.registered_groups}
    for command in project["commands"]:
        for line in command["script"]:
            words = shlex.split(line)
            if words[:3] == ["python", "-m", "spacy_albert"]:
                assert words[3] in names, f"{command['name']}: unknown command {words[3]!r}"


def test_bench_scripts_accept_their_project_arguments(project: dict) -> None:
    """Every `python -m bench.X ...` line in project.yml parses with X's own parser."""
    checked = 0
    for command in project["commands"]:
        for line in command["script"]:
            words = shlex.split(line)
            if words[:2] == ["python", "-m"] and words[2].startswith("bench."):
                module = importlib.import_module(words[2])
                if hasattr(module, "parse_args"):
                    module.parse_args(words[3:])  # SystemExit on an unknown option
                    checked += 1
    assert checked >= 3  # pretrained_data checkpoint + corpus, pretrained_compare


def test_spacy_train_overrides_name_settings_the_config_has(project: dict) -> None:
    # `spacy train` would add a misspelt setting as a new key and train without it.
    for name, command in commands_by_name(project).items():
        for line in command.get("script", []):
            args = shlex.split(line)
            if args[:4] != ["python", "-m", "spacy", "train"]:
                continue
            config = load_config(ROOT / args[4], interpolate=False)
            for arg in args[5:]:
                if not arg.startswith("--") or arg.startswith(("--paths.", "--training.logger.")):
                    continue
                *sections, key = arg[2:].split(".")
                if sections and sections[0] in config:  # a dotted config setting
                    node = config
                    for section in sections:
                        node = node[section]
                    assert key in node, f"{name}: {arg} is not in {args[4]}"
