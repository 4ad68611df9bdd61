"""Session fixtures: tiny ALBERTs built from the shipped corpus and joint pipelines trained on it.

Everything is built offline from `corpus/` once per test session, so the suite runs on a
fresh machine with no hub access and no `../shared`.
"""

import os

# Before transformers/huggingface_hub are imported: they read these once.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import spacy  # noqa: E402
from spacy.cli.train import train as spacy_train  # noqa: E402

from spacy_albert.checkpoints.builder import RANDOM_INIT_RECIPE, init_model  # noqa: E402
from spacy_albert.convert import read_textcat, write_docbin  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
CONFIGS = ROOT / "configs"

# Hyper-parameters that let a randomly initialised tiny ALBERT learn the small corpus in
# a minute or two on 2 CPU cores (the shipped configs keep fine-tuning defaults).
# The learning rate is the recipe `init-model` writes beside every random-init model.
TINY_TRAINING = {
    "training.max_steps": 600,
    "training.eval_frequency": 150,
    "training.patience": 0,
    **RANDOM_INIT_RECIPE.overrides,
    "training.batcher.size": 1000,
}



def build_docbins(lang: str, out_dir: Path, label_field: str = "cats",
                  exclusive: bool = True) -> dict[str, Path]:
    """Convert corpus/<lang>/{train,dev}.jsonl to .spacy files."""
    paths = {}
    for split in ("train", "dev"):
        path = out_dir / f"{lang}-{label_field}-{split}.spacy"
        docs = read_textcat(CORPUS / lang / f"{split}.jsonl", label_field=label_field,
                            exclusive=exclusive, lang=lang)
        write_docbin(docs, path)
        paths[split] = path
    return paths


def train_pipeline(config: str, lang: str, model_dir: Path, data: dict[str, Path],
                   output: Path, **overrides) -> Path:
    """Train a pipeline with spaCy's own `train` and return model-best."""
    settings = {
        "paths.train": str(data["train"]),
        "paths.dev": str(data["dev"]),
        "paths.transformer": str(model_dir),
        "nlp.lang": lang,
        **TINY_TRAINING,
        **overrides,
    }
    spacy_train(CONFIGS / config, output, overrides=settings)
    return output / "model-best"


@pytest.fixture(scope="session")
def en_model_dir(tmp_path_factory) -> Path:
    """A tiny English ALBERT (SentencePiece vocab) built from the corpus."""
    out = tmp_path_factory.mktemp("albert") / "en-tiny"
    return init_model(out, CORPUS / "en" / "pretrain.txt", lang="en", size="tiny", seed=0)


@pytest.fixture(scope="session")
def zh_model_dir(tmp_path_factory) -> Path:
    """A tiny Chinese ALBERT (char WordPiece vocab) built from the corpus."""
    out = tmp_path_factory.mktemp("albert") / "zh-tiny"
    return init_model(out, CORPUS / "zh" / "pretrain.txt", lang="zh", size="tiny", seed=0)


@pytest.fixture(scope="session")
def en_docbins(tmp_path_factory) -> dict[str, Path]:
    return build_docbins("en", tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def zh_docbins(tmp_path_factory) -> dict[str, Path]:
    return build_docbins("zh", tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def en_pipeline_dir(tmp_path_factory, en_model_dir, en_docbins) -> Path:
    """The joint textcat+ner English pipeline, trained on the corpus."""
    out = tmp_path_factory.mktemp("trained") / "en"
    return train_pipeline("textcat_ner.cfg", "en", en_model_dir, en_docbins, out)


@pytest.fixture(scope="session")
def zh_pipeline_dir(tmp_path_factory, zh_model_dir, zh_docbins) -> Path:
    """The joint textcat+ner Chinese pipeline, trained on the corpus."""
    out = tmp_path_factory.mktemp("trained") / "zh"
    return train_pipeline("textcat_ner.cfg", "zh", zh_model_dir, zh_docbins, out)


@pytest.fixture(scope="session")
def en_nlp(en_pipeline_dir):
    return spacy.load(en_pipeline_dir)


@pytest.fixture(scope="session")
def zh_nlp(zh_pipeline_dir):
    return spacy.load(zh_pipeline_dir)
