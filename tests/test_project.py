"""project.yml: every workflow step's inputs exist before it runs, and the offline
workflow reads only what the repository ships."""

import shlex
from pathlib import Path

import pytest
from weasel.util import load_project_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def project() -> dict:
    return load_project_config(ROOT)


def commands_by_name(project: dict) -> dict[str, dict]:
    return {command["name"]: command for command in project["commands"]}


@pytest.mark.parametrize("workflow", ["all", "en", "zh"])
def test_each_step_depends_only_on_earlier_outputs_or_inputs_that_exist(
    project: dict, workflow: str
) -> None:
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
