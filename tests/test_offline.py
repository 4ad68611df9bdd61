"""Offline guarantees: a trained or packaged pipeline needs neither the original model
directory nor the network, and a missing model fails with a clear error.

Network access is blocked by patching the socket layer (connect, connect_ex,
create_connection, getaddrinfo); every attempt is recorded, so the tests prove that no
connection is even tried, not just that none succeeded.
"""

import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import huggingface_hub.constants
import huggingface_hub.utils._http
import pytest
import spacy
import transformers.utils.hub
from spacy.cli.package import package
from spacy.language import Language

from spacy_albert.models.loading import ModelNotFoundError

TEXTS = {
    "en": [
        "Shares of Nordvale Energy jumped after an excellent quarter.",
        "Omar Saleh said the final in Kingsport was a disaster.",
        "",
        "Plain text without names.",
    ],
    "zh": [
        "长风物流计划在黄浦江附近建设风电场。",
        "韩志军对这件事感到很失望。",
        "",
        "今天天气很好",
    ],
}

Prediction = tuple[dict[str, float], list[tuple[int, int, str]]]


def predictions(nlp: Language, texts: list[str]) -> list[Prediction]:
    return [
        (doc.cats, [(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents])
        for doc in nlp.pipe(texts)
    ]


def assert_same(got: list[Prediction], expected: list[Prediction]) -> None:
    for (cats, ents), (exp_cats, exp_ents) in zip(got, expected):
        assert cats == pytest.approx(exp_cats, abs=1e-6)
        assert ents == exp_ents
    assert len(got) == len(expected)


def set_offline(monkeypatch: pytest.MonkeyPatch, offline: bool) -> None:
    """Set the hub's offline mode; the env var alone is read only at import time."""
    if offline:
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", offline)
    if hasattr(transformers.utils.hub, "_is_offline_mode"):
        monkeypatch.setattr(transformers.utils.hub, "_is_offline_mode", offline)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    set_offline(monkeypatch, True)


@pytest.fixture
def network_attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Block the socket layer; return the list that records every attempt."""
    attempts: list[str] = []

    def blocked(name: str) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{name}{args!r}"[:200])
            raise OSError(f"network access blocked by the test ({name})")

        return refuse

    monkeypatch.setattr(socket.socket, "connect", blocked("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", blocked("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", blocked("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", blocked("getaddrinfo"))
    return attempts


@pytest.fixture(params=["en", "zh"])
def lang(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def model_dir_moved_away(request: pytest.FixtureRequest, lang: str) -> Iterator[Path]:
    """Move the ALBERT directory the pipeline was trained from out of the way."""
    model_dir: Path = request.getfixturevalue(f"{lang}_model_dir")
    # Train and load first: the session fixtures need the directory to build them.
    request.getfixturevalue(f"{lang}_nlp")
    hidden = model_dir.with_name(model_dir.name + ".moved-away")
    shutil.move(str(model_dir), str(hidden))
    try:
        yield model_dir
    finally:
        shutil.move(str(hidden), str(model_dir))


def test_trained_pipeline_is_self_contained(
    request: pytest.FixtureRequest,
    lang: str,
    offline: None,
    network_attempts: list[str],
    model_dir_moved_away: Path,
) -> None:
    pipeline_dir: Path = request.getfixturevalue(f"{lang}_pipeline_dir")
    expected = predictions(request.getfixturevalue(f"{lang}_nlp"), TEXTS[lang])
    assert not model_dir_moved_away.exists()
    nlp = spacy.load(pipeline_dir)
    assert_same(predictions(nlp, TEXTS[lang]), expected)
    assert network_attempts == []


def test_no_network_attempt_even_when_hub_is_online(
    request: pytest.FixtureRequest,
    lang: str,
    monkeypatch: pytest.MonkeyPatch,
    network_attempts: list[str],
) -> None:
    """Loading and predicting read only the pipeline directory, whatever HF_HUB_OFFLINE says."""
    set_offline(monkeypatch, False)
    nlp = spacy.load(request.getfixturevalue(f"{lang}_pipeline_dir"))
    predictions(nlp, TEXTS[lang])
    assert network_attempts == []


def test_packaged_pipeline_loads_offline(
    request: pytest.FixtureRequest,
    lang: str,
    tmp_path: Path,
    offline: None,
    network_attempts: list[str],
    model_dir_moved_away: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`spacy package` output, pip-installed offline into a target dir, loads by name
    with `spacy.load` and declares spacy-albert as a requirement."""
    pipeline_dir: Path = request.getfixturevalue(f"{lang}_pipeline_dir")
    expected = predictions(request.getfixturevalue(f"{lang}_nlp"), TEXTS[lang])
    name = f"{lang}_offline_test"
    package(pipeline_dir, tmp_path, name="offline_test", version="0.0.1",
            create_sdist=False, create_wheel=False, silent=True)
    package_root = tmp_path / f"{name}-0.0.1"
    meta = spacy.util.load_meta(package_root / "meta.json")
    assert any(req.startswith("spacy-albert") for req in meta["requirements"])
    site = tmp_path / "site"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
         "--no-index", "--quiet", "--target", str(site), str(package_root)],
        capture_output=True, text=True, timeout=120,
    )
    assert pip.returncode == 0, pip.stderr[-2000:]
    monkeypatch.syspath_prepend(str(site))
    nlp = spacy.load(name)
    assert nlp.pipe_names == ["transformer", "ner", "textcat"]
    assert_same(predictions(nlp, TEXTS[lang]), expected)
    assert network_attempts == []


@pytest.mark.parametrize("hub_offline", [True, False], ids=["offline", "online-no-network"])
def test_unknown_model_name_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, network_attempts: list[str], hub_offline: bool
) -> None:
    set_offline(monkeypatch, hub_offline)
    if not hub_offline:
        # huggingface_hub retries with backoff (~45 s in all) before giving up.
        monkeypatch.setattr(huggingface_hub.utils._http.time, "sleep", lambda seconds: None)
    nlp = spacy.blank("en")
    nlp.add_pipe("albert_transformer", config={"model": {"name": "no-such-albert-xyz"}})
    with pytest.raises(ModelNotFoundError, match="init-model") as err:
        nlp.initialize()
    assert "no-such-albert-xyz" in str(err.value)
    if hub_offline:
        assert network_attempts == []


def test_missing_local_path_is_a_clear_error(tmp_path: Path, network_attempts: list[str]) -> None:
    nlp = spacy.blank("en")
    missing = tmp_path / "not-built-yet"
    nlp.add_pipe("albert_transformer", config={"model": {"name": str(missing)}})
    with pytest.raises(ModelNotFoundError, match="init-model"):
        nlp.initialize()
    assert network_attempts == []
