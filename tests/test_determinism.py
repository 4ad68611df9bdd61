"""Same seed + config + data gives the same scores and the same weights on CPU.

spaCy's `train` seeds Python's `random`, NumPy and torch (`fix_random_seed`) before
building and again before training; batches are shuffled with that seed and dropout
draws from torch's seeded generator. On CPU, PyTorch kernels are deterministic for a
given thread count, so two runs in one environment agree bit for bit.
"""

from pathlib import Path

import pytest
import srsly
from safetensors.torch import load as load_safetensors

from tests.conftest import train_pipeline

SHORT_TRAINING = {"training.max_steps": 40, "training.eval_frequency": 40}


def transformer_state(pipeline_dir: Path) -> dict:
    """The encoder weights (tokenizer files embed temp paths, so compare tensors)."""
    msg = srsly.msgpack_loads((pipeline_dir / "transformer" / "model").read_bytes())
    (shim,) = [srsly.msgpack_loads(s) for node_shims in msg["shims"] for s in node_shims]
    return load_safetensors(shim["state"])


@pytest.mark.slow
def test_training_twice_gives_identical_results(
    en_model_dir: Path, en_docbins: dict, tmp_path: Path
) -> None:
    runs = [
        train_pipeline(
            "textcat_ner.cfg", "en", en_model_dir, en_docbins, tmp_path / f"run{i}",
            **SHORT_TRAINING,
        ).parent / "model-last"
        for i in range(2)
    ]
    first, second = (srsly.read_json(run / "meta.json")["performance"] for run in runs)
    assert first == second
    assert first["ents_f"] > 0 or first["cats_score"] > 0  # it did learn something
    for component in ("ner", "textcat"):
        assert (runs[0] / component / "model").read_bytes() == (
            runs[1] / component / "model"
        ).read_bytes(), component
    state_a, state_b = (transformer_state(run) for run in runs)
    assert state_a.keys() == state_b.keys()
    for name in state_a:
        assert state_a[name].equal(state_b[name]), name
