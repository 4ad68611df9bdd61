"""The speed contenders: spaCy pipelines (fp32, bf16, int8) and the Hugging Face baselines.

spaCy: `spacy_joint_*` (textcat + ner, one encoder pass), `spacy_ner_*` (ner alone).
HF: `hf_pipeline_*` (`transformers.pipeline`) and `hf_raw_*` (raw forward), each with two
models (`_two`: sequence + token classification) or the token classifier alone (`_tok`).
Every HF contender gets the fused GELU except `hf_pipeline_two_defaults`, which is what a
user who changes nothing runs (the "vs HF defaults" column). Suffixes: `_bf16` (autocast),
`_int8` (ours: `quantize`; HF: `torch.ao` dynamic int8), `_w128` (long texts in
spacy-albert's 128/96 windows instead of HF's 512/128).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable, Literal

import spacy
import torch

from . import hf_baseline as hf
from .pipelines import PipelinePaths
from .settings import BF16

Contender = Callable[[list[str]], Any]
Precision = Literal["fp32", "bf16", "int8"]


@dataclass(frozen=True)
class SpacySpec:
    """A spaCy contender: which saved pipeline, in which precision.

    pipeline (str): The PipelinePaths field.
    precision (Precision): "fp32", "bf16" or "int8" ("int8" pipelines are `quantize`d).
    bf16 (bool): Load with `inference_dtype = "bfloat16"`.
    """

    pipeline: str
    precision: Precision
    bf16: bool = False


@dataclass(frozen=True)
class HFSpec:
    """An HF contender.

    runner (str): "pipeline" (`transformers.pipeline`) or "raw" (HFRawForward).
    two (bool): Two models (text + token classification), else the token classifier only.
    precision (Precision): "fp32", "bf16" (autocast) or "int8" (`torch.ao` dynamic).
    fused_gelu (bool): `hidden_act="gelu_pytorch_tanh"` (False: HF's defaults).
    our_windows (bool): Long texts in spacy-albert's windows (both models), else HF's.
    """

    runner: Literal["pipeline", "raw"]
    two: bool
    precision: Precision = "fp32"
    fused_gelu: bool = True
    our_windows: bool = False


SPACY: dict[str, SpacySpec] = {
    "spacy_joint_fp32": SpacySpec("joint", "fp32"),
    "spacy_joint_bf16": SpacySpec("joint", "bf16", bf16=True),
    "spacy_joint_int8": SpacySpec("joint_int8", "int8"),
    "spacy_ner_fp32": SpacySpec("ner", "fp32"),
    "spacy_ner_int8": SpacySpec("ner_int8", "int8"),
}
HF: dict[str, HFSpec] = {
    "hf_pipeline_two_defaults": HFSpec("pipeline", True, fused_gelu=False),
    "hf_pipeline_two": HFSpec("pipeline", True),
    "hf_raw_two": HFSpec("raw", True),
    "hf_raw_two_bf16": HFSpec("raw", True, "bf16"),
    "hf_raw_two_int8": HFSpec("raw", True, "int8"),
    "hf_raw_two_w128": HFSpec("raw", True, our_windows=True),
    "hf_pipeline_tok": HFSpec("pipeline", False),
    "hf_raw_tok": HFSpec("raw", False),
    "hf_raw_tok_int8": HFSpec("raw", False, "int8"),
}


def precision(name: str) -> Precision:
    """The numeric precision a contender runs in."""
    return (SPACY[name] if name in SPACY else HF[name]).precision


def make_contender(name: str, paths: PipelinePaths, batch_size: int, long: bool) -> Contender:
    """Load one contender; the callable runs it over a list of texts.

    name (str): A key of SPACY or HF.
    paths (PipelinePaths): The model size's checkpoint and pipelines.
    batch_size (int): Texts per batch.
    long (bool): Whether the texts are longer than the model (HF then uses windows).
    RETURNS (Contender): Runs the contender over texts.
    """
    if name in SPACY:
        spec = SPACY[name]
        nlp = spacy.load(getattr(paths, spec.pipeline), config=BF16 if spec.bf16 else {})

        def run_spacy(texts: Sequence[str]) -> Any:
            return [len(doc.ents) for doc in nlp.pipe(texts, batch_size=batch_size)]

        return run_spacy
    spec = HF[name]
    tokenizer = hf.load_tokenizer(paths.model)
    seq = hf.load_sequence_classifier(paths.model, fused_gelu=spec.fused_gelu) if spec.two \
        else None
    tok = hf.load_token_classifier(paths.model, fused_gelu=spec.fused_gelu)
    if spec.precision == "int8":
        seq = hf.quantize_dynamic_int8(seq) if seq is not None else None
        tok = hf.quantize_dynamic_int8(tok)
    if spec.runner == "pipeline":
        return hf.HFPipelines(tokenizer, seq, tok, batch_size=batch_size,
                              stride=hf.HF_WINDOWS.overlap if long else None)
    return hf.HFRawForward(
        tokenizer, seq, tok, batch_size=batch_size,
        windows=hf.OUR_WINDOWS if spec.our_windows else hf.HF_WINDOWS,
        classify_windows=spec.our_windows,
        autocast_dtype=torch.bfloat16 if spec.precision == "bf16" else None,
    )
