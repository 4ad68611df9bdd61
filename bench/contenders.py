"""The speed contenders: spaCy pipelines (fp32, bf16, int8) and the Hugging Face baselines.

Names: `spacy_joint_*` (textcat + ner), `spacy_ner_*` (ner alone), `hf_pipeline_two` /
`hf_raw_two` (two HF models: sequence + token classification), `hf_pipeline_tok` /
`hf_raw_tok` (the token classifier alone); a `_bf16` suffix runs in bfloat16.
"""

from collections.abc import Sequence
from typing import Any, Callable

import spacy
import torch

from . import hf_baseline as hf
from .pipelines import PipelinePaths
from .settings import BF16

Contender = Callable[[list[str]], Any]

# spaCy contender -> the PipelinePaths field of the pipeline it loads.
SPACY_PIPELINES = {"spacy_joint_fp32": "joint", "spacy_joint_bf16": "joint",
                   "spacy_joint_int8": "joint_int8", "spacy_joint_int8_bf16": "joint_int8",
                   "spacy_ner_fp32": "ner", "spacy_ner_int8": "ner_int8"}


def make_contender(name: str, paths: PipelinePaths, batch_size: int, long: bool) -> Contender:
    """Load one contender; the callable runs it over a list of texts.

    name (str): The contender (see the module docstring).
    paths (PipelinePaths): The model size's checkpoint and pipelines.
    batch_size (int): Texts per batch.
    long (bool): Whether the texts are longer than the model (HF pipelines then use windows).
    RETURNS (Contender): Runs the contender over texts.
    """
    if name.startswith("spacy_"):
        nlp = spacy.load(getattr(paths, SPACY_PIPELINES[name]),
                         config=BF16 if name.endswith("bf16") else {})

        def run_spacy(texts: Sequence[str]) -> Any:
            return [len(doc.ents) for doc in nlp.pipe(texts, batch_size=batch_size)]

        return run_spacy
    tokenizer = hf.load_tokenizer(paths.model)
    seq = hf.load_sequence_classifier(paths.model) if "tok" not in name else None
    tok = hf.load_token_classifier(paths.model)
    if name.startswith("hf_pipeline"):
        return hf.HFPipelines(tokenizer, seq, tok, batch_size=batch_size,
                              stride=128 if long else None)
    dtype = torch.bfloat16 if name.endswith("bf16") else None
    return hf.HFRawForward(tokenizer, seq, tok, batch_size=batch_size, autocast_dtype=dtype)
