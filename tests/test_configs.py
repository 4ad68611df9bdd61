"""The shipped configs validate, on CPU as written and with the GPU switches turned on."""

from pathlib import Path

import pytest
import spacy
from spacy.util import load_config, load_model_from_config, registry
from thinc.api import ConfigValidationError

from tests.conftest import CONFIGS, build_docbins, train_pipeline

CONFIG_FILES = sorted(p.name for p in CONFIGS.glob("*.cfg"))
HEADS = {
    "textcat_ner.cfg": ["transformer", "ner", "textcat"],
    "ner.cfg": ["transformer", "ner"],
    "textcat.cfg": ["transformer", "textcat"],
    "textcat_multilabel.cfg": ["transformer", "textcat_multilabel"],
}


def load(name: str, model_dir: Path, **overrides):
    settings = {"paths.transformer": str(model_dir), **overrides}
    return load_config(CONFIGS / name, overrides=settings, interpolate=True)


def test_every_config_is_listed():
    assert set(CONFIG_FILES) == set(HEADS)


@pytest.mark.parametrize("name", CONFIG_FILES)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_config_builds_and_validates_on_cpu(name, lang, en_model_dir):
    config = load(name, en_model_dir, **{"nlp.lang": lang})
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    assert nlp.pipe_names == HEADS[name]
    assert nlp.lang == lang
    interpolated = load_config(CONFIGS / name, overrides={"paths.transformer": str(en_model_dir)},
                               interpolate=True)
    resolved = registry.resolve(interpolated["training"], validate=True)
    assert resolved["gpu_allocator"] == "pytorch"
    if lang == "zh":
        assert [t.text for t in nlp.make_doc("华星科技")] == ["华", "星", "科", "技"]
    # Every head listens to the one shared encoder.
    transformer = nlp.get_pipe("transformer")
    assert sorted(transformer.listening_components) == sorted(HEADS[name][1:])


@pytest.mark.parametrize("name", CONFIG_FILES)
def test_gpu_switches_validate_on_cpu(name, en_model_dir):
    """What `--gpu-id 0` with mixed precision would run, checked for validity here."""
    config = load(name, en_model_dir, **{
        "components.transformer.model.mixed_precision": True,
        "components.transformer.model.grad_scaler_config": {"init_scale": 1024},
        "components.transformer.model.inference_dtype": "bfloat16",
    })
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    shim = nlp.get_pipe("transformer").model.layers[0].shims[0]
    assert shim._mixed_precision is True
    assert nlp.get_pipe("transformer").model.attrs["inference_dtype"] == "bfloat16"
    assert nlp.config.interpolate()["training"]["gpu_allocator"] == "pytorch"


def test_bad_inference_dtype_is_rejected_by_config_validation(en_model_dir):
    config = load("ner.cfg", en_model_dir,
                  **{"components.transformer.model.inference_dtype": "float8"})
    with pytest.raises(ConfigValidationError, match="inference_dtype"):
        load_model_from_config(config, auto_fill=True, validate=True)


def test_v1_encoder_checks_inference_dtype_when_predicting(en_model_dir):
    config = load("ner.cfg", en_model_dir, **{
        "components.transformer.model.@architectures": "spacy-albert.AlbertTransformer.v1",
        "components.transformer.model.inference_dtype": "float8",
    })
    del config["components"]["transformer"]["model"]["train_length_groups"]  # v2 and later
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    nlp.initialize()
    with pytest.raises(ValueError, match="inference_dtype must be one of"):
        nlp("a text")


@pytest.mark.slow
def test_multilabel_config_trains_well_above_chance(tmp_path, en_model_dir):
    data = build_docbins("en", tmp_path, label_field="topics", exclusive=False)
    best = train_pipeline("textcat_multilabel.cfg", "en", en_model_dir, data,
                          tmp_path / "out", **{"training.max_steps": 240})
    nlp = spacy.load(best)
    scores = nlp.meta["performance"]
    # Chance for 4 labels with ~1.2 gold each at threshold 0.5 is a micro-F well below 0.4.
    assert scores["cats_micro_f"] > 0.6, scores
    assert set(nlp.get_pipe("textcat_multilabel").labels) == {
        "BUSINESS", "SPORTS", "TECH", "POLITICS"
    }
