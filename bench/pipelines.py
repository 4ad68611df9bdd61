"""The models and saved pipelines every section runs on, built once per work folder."""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import spacy
import srsly
from spacy.training import Example
from spacy.util import load_config, load_model_from_config

from .data import conll_sentences, read_sst
from .settings import CONFIGS


@dataclass
class PipelinePaths:
    """One model size's checkpoint and saved pipelines.

    model (Path): The init-model ALBERT checkpoint.
    joint (Path): textcat + ner pipeline (configs/textcat_ner.cfg), fp32.
    joint_int8 (Path): The same, quantized.
    ner (Path): ner-only pipeline (configs/ner.cfg), fp32.
    ner_int8 (Path): The same, quantized.
    """

    model: Path
    joint: Path
    joint_int8: Path
    ner: Path
    ner_int8: Path


def model_dir(work: Path, size: str, data: Path) -> Path:
    """An init-model ALBERT of `size` whose vocab is learned from CoNLL + SST-2 train text.

    base gets albert-base-v2's 30k vocabulary size; tiny and small 8k.
    """
    from spacy_albert.checkpoints.builder import init_model

    out = work / "models" / f"albert-{size}"
    if (out / "model.safetensors").is_file():
        return out
    corpus = vocab_corpus(work, data)
    init_model(out, corpus, lang="en", size=size, vocab_size=30000 if size == "base" else 8000)
    return out


def vocab_corpus(work: Path, data: Path) -> Path:
    """<work>/corpus.txt: CoNLL and SST-2 train sentences, one per line (written once)."""
    corpus = work / "corpus.txt"
    if not corpus.is_file():
        lines = [" ".join(sentence.words) for sentence in conll_sentences(data, "train")]
        lines += [text for text, _ in read_sst(data, "train")]
        corpus.parent.mkdir(parents=True, exist_ok=True)
        corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return corpus


def init_examples(nlp: Any, with_cats: bool = True) -> list[Example]:
    """A few examples that give the heads their labels (untrained heads run as fast)."""
    examples = []
    doc = nlp.make_doc("Nora Bergman of Acme Corp flew to Paris for the Euro Cup .")
    annotation: dict[str, Any] = {"entities": [(0, 12, "PER"), (16, 25, "ORG"), (34, 39, "LOC"),
                                               (48, 56, "MISC")]}
    if with_cats:
        annotation["cats"] = {"POSITIVE": 1.0, "NEGATIVE": 0.0}
    examples.append(Example.from_dict(doc, annotation))
    if with_cats:
        doc = nlp.make_doc("A dull , lifeless film .")
        examples.append(Example.from_dict(doc, {"cats": {"POSITIVE": 0.0, "NEGATIVE": 1.0}}))
    return examples


def build_pipeline(config_name: str, transformer: Path, out: Path) -> Path:
    """configs/<config_name> with paths.transformer, initialised and saved to out."""
    if (out / "config.cfg").is_file():
        return out
    config = load_config(CONFIGS / config_name, interpolate=True,
                         overrides={"paths.transformer": str(transformer)})
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    nlp.initialize(lambda: init_examples(nlp, with_cats="textcat" in nlp.pipe_names))
    out.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(out)
    return out


def quantized_pipeline(source: Path, out: Path) -> Path:
    """The pipeline at `source` with its encoder quantized to int8, saved to out (once)."""
    from spacy_albert.models.int8 import quantize_pipeline

    if not (out / "config.cfg").is_file():
        nlp = spacy.load(source)
        quantize_pipeline(nlp)
        nlp.to_disk(out)
    return out


def prepare(work: Path, data: Path, sizes: Iterable[str]) -> dict[str, PipelinePaths]:
    """Models and saved pipelines (fp32 joint, ner-only, and their int8 copies) per size."""
    paths: dict[str, PipelinePaths] = {}
    for size in sizes:
        model = model_dir(work, size, data)
        joint = build_pipeline("textcat_ner.cfg", model, work / "pipelines" / f"{size}-joint")
        ner = build_pipeline("ner.cfg", model, work / "pipelines" / f"{size}-ner")
        paths[size] = PipelinePaths(
            model=model,
            joint=joint,
            joint_int8=quantized_pipeline(joint, work / "pipelines" / f"{size}-joint-int8"),
            ner=ner,
            ner_int8=quantized_pipeline(ner, work / "pipelines" / f"{size}-ner-int8"),
        )
    return paths


def dir_size(path: Path) -> int:
    """Bytes of all files under path."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def weights_bytes(pipeline: Path) -> int:
    """Bytes of the encoder's serialized weights in a saved pipeline's transformer/model."""
    node_shims = srsly.msgpack_loads((pipeline / "transformer" / "model").read_bytes())["shims"]
    return sum(len(srsly.msgpack_loads(data)["state"]) for shims in node_shims for data in shims)


def disk_sizes(paths: PipelinePaths) -> dict[str, float]:
    """The on-disk section's row: pipeline and weight sizes, fp32 vs int8 (MB and ratios)."""
    fp32, int8 = dir_size(paths.joint), dir_size(paths.joint_int8)
    w32, w8 = weights_bytes(paths.joint), weights_bytes(paths.joint_int8)
    return {"fp32_mb": fp32 / 1e6, "int8_mb": int8 / 1e6, "ratio": fp32 / int8,
            "fp32_weights_mb": w32 / 1e6, "int8_weights_mb": w8 / 1e6, "weights_ratio": w32 / w8}
