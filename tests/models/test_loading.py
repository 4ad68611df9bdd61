"""Safe loading: weights stored as safetensors, no pickle, no remote code, and a clear
error (never a crash or a hang) for a damaged `transformer/model` file."""

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import spacy
import srsly
import torch
from safetensors.torch import load as load_safetensors
from transformers import AlbertConfig, AutoConfig, AutoModel, AutoTokenizer, BertConfig

from spacy_albert.models.loading import WEIGHTS_FORMAT, model_from_config

PICKLE_HEADERS = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
ZIP_HEADER = b"PK\x03\x04"  # torch.save's default (zip) format
TEXTS = ["Shares of Nordvale Energy jumped after an excellent quarter.", "Omar Saleh lost."]
LOAD_TIMEOUT_S = 240


def shim_messages(model_file: Path) -> list[dict]:
    """The decoded shim payloads inside a thinc msgpack model file."""
    msg = srsly.msgpack_loads(model_file.read_bytes())
    return [srsly.msgpack_loads(shim) for node_shims in msg["shims"] for shim in node_shims]


def looks_pickled(data: bytes) -> bool:
    return data.startswith(PICKLE_HEADERS) or data.startswith(ZIP_HEADER)


def all_bytes(value: Any) -> list[bytes]:
    """Every bytes value nested in a decoded msgpack structure."""
    if isinstance(value, bytes):
        return [value]
    if isinstance(value, dict):
        return [b for v in value.values() for b in all_bytes(v)]
    if isinstance(value, (list, tuple)):
        return [b for v in value for b in all_bytes(v)]
    return []


def predictions(nlp: spacy.language.Language) -> list:
    return [
        (doc.cats, [(e.start_char, e.end_char, e.label_) for e in doc.ents])
        for doc in nlp.pipe(TEXTS)
    ]


def test_weights_are_safetensors_without_pickle(en_pipeline_dir: Path) -> None:
    model_file = en_pipeline_dir / "transformer" / "model"
    raw = model_file.read_bytes()
    assert not looks_pickled(raw)
    shims = shim_messages(model_file)
    assert len(shims) == 1
    shim = shims[0]
    assert shim["state_format"] == WEIGHTS_FORMAT == "safetensors"
    state = shim["state"]
    assert not looks_pickled(state)
    # safetensors: 8-byte little-endian header length, then a JSON header.
    header_len = int.from_bytes(state[:8], "little")
    header = json.loads(state[8 : 8 + header_len])
    assert all(set(v) >= {"dtype", "shape", "data_offsets"} for k, v in header.items()
               if k != "__metadata__")
    tensors = load_safetensors(state)
    assert any(name.startswith("embeddings.") for name in tensors)
    for blob in all_bytes(shim):
        assert not looks_pickled(blob)


def test_trust_remote_code_is_never_passed(
    en_model_dir: Path, en_pipeline_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not at initialize (even when a config asks for it) and not at load."""
    calls: list[tuple[str, dict]] = []

    def recording(cls: Any, method: str) -> None:
        original = getattr(cls, method)

        def record(*args: Any, **kwargs: Any) -> Any:
            calls.append((f"{cls.__name__}.{method}", dict(kwargs)))
            return original(*args, **kwargs)

        monkeypatch.setattr(cls, method, record)

    for cls in (AutoModel, AutoTokenizer, AutoConfig):
        recording(cls, "from_pretrained")
    nlp = spacy.blank("en")
    nlp.add_pipe(
        "albert_transformer",
        config={
            "model": {
                "name": str(en_model_dir),
                "tokenizer_config": {"use_fast": True, "trust_remote_code": True},
                "transformer_config": {"trust_remote_code": True},
            }
        },
    )
    nlp.initialize()
    assert {name for name, _ in calls} >= {
        "AutoModel.from_pretrained",
        "AutoTokenizer.from_pretrained",
    }
    n_init_calls = len(calls)
    spacy.load(en_pipeline_dir)
    assert len(calls) > n_init_calls
    for name, kwargs in calls:
        assert not kwargs.get("trust_remote_code"), (name, kwargs)


def damage(pipeline_dir: Path, out: Path, how: str) -> Path:
    """A copy of the pipeline whose transformer/model is damaged in one way."""
    shutil.copytree(pipeline_dir, out)
    model_file = out / "transformer" / "model"
    raw = model_file.read_bytes()
    if how == "truncated":
        model_file.write_bytes(raw[: len(raw) // 2])
    elif how == "truncated_tail":
        model_file.write_bytes(raw[:-7])
    elif how == "empty":
        model_file.write_bytes(b"")
    elif how == "garbage":
        model_file.write_bytes(os.urandom(4096))
    elif how == "wrong_structure":
        model_file.write_bytes(srsly.msgpack_dumps({"nodes": "nonsense"}))
    elif how == "bad_safetensors":
        msg = srsly.msgpack_loads(raw)
        for node_shims in msg["shims"]:
            for i, shim_bytes in enumerate(node_shims):
                shim = srsly.msgpack_loads(shim_bytes)
                shim["state"] = b"\xff" * 8 + shim["state"][8:64]
                node_shims[i] = srsly.msgpack_dumps(shim)
        model_file.write_bytes(srsly.msgpack_dumps(msg))
    else:
        raise ValueError(how)
    return out


DAMAGES = ["truncated", "truncated_tail", "empty", "garbage", "wrong_structure", "bad_safetensors"]

LOAD_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import spacy
    from spacy_albert.pipeline.transformer import CorruptModelError
    results = {}
    for path in sys.argv[1:]:
        try:
            spacy.load(path)
            results[path] = ["loaded", ""]
        except CorruptModelError as err:
            results[path] = ["CorruptModelError", str(err)]
        except BaseException as err:
            results[path] = [type(err).__name__, str(err)]
    print("RESULTS=" + json.dumps(results))
    """
)


def test_damaged_model_file_is_a_clear_error(en_pipeline_dir: Path, tmp_path: Path) -> None:
    """Every kind of damage gives CorruptModelError naming the file; loading runs in a
    subprocess with a timeout, so a segfault or a hang would fail the test too."""
    dirs = {how: damage(en_pipeline_dir, tmp_path / how, how) for how in DAMAGES}
    proc = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, *map(str, dirs.values())],
        capture_output=True,
        text=True,
        timeout=LOAD_TIMEOUT_S,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULTS="))
    results = json.loads(line[len("RESULTS="):])
    for how, path in dirs.items():
        kind, message = results[str(path)]
        assert kind == "CorruptModelError", (how, kind, message)
        assert str(path / "transformer") in message, (how, message)


def upstream_shim_bytes(shim: dict) -> bytes:
    """A shim payload as upstream spacy-transformers writes it: torch.save state."""
    buffer = io.BytesIO()
    torch.save(load_safetensors(shim["state"]), buffer)
    upstream = {k: v for k, v in shim.items() if k != "state_format"}
    upstream["state"] = buffer.getvalue()
    return srsly.msgpack_dumps(upstream)


def rewrite_shims(pipeline_dir: Path, out: Path, convert: Any) -> Path:
    shutil.copytree(pipeline_dir, out)
    model_file = out / "transformer" / "model"
    msg = srsly.msgpack_loads(model_file.read_bytes())
    msg["shims"] = [
        [convert(srsly.msgpack_loads(shim)) for shim in node_shims] for node_shims in msg["shims"]
    ]
    model_file.write_bytes(srsly.msgpack_dumps(msg))
    return out


def test_upstream_torch_save_state_loads(
    en_pipeline_dir: Path, en_nlp: Any, tmp_path: Path
) -> None:
    """A pipeline saved by upstream spacy-transformers (torch.save) still loads, through
    `torch.load(weights_only=True)`, and predicts the same."""
    path = rewrite_shims(en_pipeline_dir, tmp_path / "upstream", upstream_shim_bytes)
    (shim,) = shim_messages(path / "transformer" / "model")
    assert "state_format" not in shim and shim["state"].startswith(ZIP_HEADER)
    nlp = spacy.load(path)
    got, expected = predictions(nlp), predictions(en_nlp)
    for (cats, ents), (exp_cats, exp_ents) in zip(got, expected):
        assert cats == pytest.approx(exp_cats, abs=1e-6)
        assert ents == exp_ents


class _Payload:
    """Unpickling this would create a marker file (stands in for arbitrary code)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (open, (self.marker, "w"))


def test_malicious_pickle_state_is_refused(en_pipeline_dir: Path, tmp_path: Path) -> None:
    """An upstream-format state that smuggles code is rejected, and the code never runs."""
    marker = tmp_path / "code-ran"

    def poisoned(shim: dict) -> bytes:
        buffer = io.BytesIO()
        state = dict(load_safetensors(shim["state"]))
        state["payload"] = _Payload(str(marker))  # type: ignore[assignment]
        torch.save(state, buffer)
        upstream = {k: v for k, v in shim.items() if k != "state_format"}
        upstream["state"] = buffer.getvalue()
        return srsly.msgpack_dumps(upstream)

    path = rewrite_shims(en_pipeline_dir, tmp_path / "poisoned", poisoned)
    from spacy_albert.pipeline.transformer import CorruptModelError

    with pytest.raises(CorruptModelError, match="weights_only|Unsupported|unpickl|global"):
        spacy.load(path)
    assert not marker.exists()


def test_model_from_config_builds_what_automodel_builds() -> None:
    for config in (AlbertConfig(hidden_size=32, num_attention_heads=2, intermediate_size=64),
                   BertConfig(hidden_size=32, num_attention_heads=2, intermediate_size=64)):
        assert type(model_from_config(config)) is type(AutoModel.from_config(config))


def test_loading_does_not_import_every_architecture(en_pipeline_dir: Path) -> None:
    """`AutoModel.from_config` imports the configuration module of every architecture
    transformers knows (~630 modules) to find one class; loading a pipeline does not."""
    code = ("import sys, spacy; spacy.load(sys.argv[1]); "
            "print(sum(name.startswith('transformers.models.') for name in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code, str(en_pipeline_dir)],
                            capture_output=True, text=True, timeout=LOAD_TIMEOUT_S, check=True)
    assert int(result.stdout.strip().splitlines()[-1]) < 100
