"""Import a pretrained checkpoint as a local ALBERT directory: ALBERT as is, BERT converted.

What `init-model --from` runs. The output is the layout `init_model` writes (AlbertModel
weights as safetensors, tokenizer files, `spacy_albert_training.json`), so training,
packaging and every later load read it offline.

BERT-architecture checkpoints (BERT, MiniLM, TinyBERT, Chinese BERT/RoBERTa-wwm,
multilingual BERT: `model_type` 'bert' with a WordPiece vocabulary) are converted exactly
(see `bert_to_albert`); sentence-transformers directories give their encoder. Other
families are refused with the reason. Weights are read as safetensors or with
`torch.load(weights_only=True)`; no checkpoint code is ever run.
"""

import collections
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import srsly
import torch
from huggingface_hub import snapshot_download
from safetensors import SafetensorError
from safetensors.torch import load_file
from transformers import AutoTokenizer, BertConfig, BertModel, BertTokenizerFast

from ..models.loading import ModelNotFoundError, load_hf_albert, model_not_found_message
from .bert_to_albert import albert_from_bert
from .builder import (
    MODEL_MAX_LENGTH,
    PRETRAINED_RECIPE,
    TrainingRecipe,
    write_training_recipe,
)

CONVERTIBLE = (
    "ALBERT checkpoints are saved as they are; BERT-architecture ones (model_type 'bert' with "
    "a WordPiece vocabulary: BERT, MiniLM, TinyBERT, Chinese BERT/RoBERTa-wwm, multilingual "
    "BERT) are converted exactly into an ALBERT"
)
WHY_NOT = {
    "roberta": "RoBERTa-style models number positions from padding_idx + 1 (= 2), not 0 as "
    "ALBERT does, and tokenize with byte-level BPE (RoBERTa) or SentencePiece with <s>/</s> "
    "(XLM-R, CamemBERT), not WordPiece",
    "distilbert": "DistilBERT has no token-type embeddings (ALBERT always adds one) and its "
    "own layer layout (q_lin/k_lin/v_lin, sa_layer_norm, ffn.lin1/lin2)",
}
WHY_NOT.update({family: WHY_NOT["roberta"] for family in ("xlm-roberta", "camembert")})
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
HUB_FILES = ["*.json", "*.txt", "*.model", "*.safetensors", "*.bin"]
ENCODER_PARTS = ("embeddings", "encoder", "pooler")
# Buffers that older transformers versions saved with the weights.
SAVED_BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")


@dataclass(frozen=True)
class ImportedCheckpoint:
    """A pretrained checkpoint saved as a local ALBERT directory."""

    path: Path
    source_type: str
    notes: tuple[str, ...]
    recipe: TrainingRecipe


def import_pretrained(name: Union[str, Path], output_dir: Union[str, Path]) -> ImportedCheckpoint:
    """Save a pretrained ALBERT, or an exact ALBERT conversion of a BERT, to output_dir.

    name (Union[str, Path]): Checkpoint directory (a sentence-transformers one too) or hub
        name (resolved through the hub cache; `HF_HUB_OFFLINE` is honoured).
    output_dir (Union[str, Path]): Directory to write; created only once all checks passed.
    RETURNS (ImportedCheckpoint): Where it went, what the source was and what it left out.
    RAISES (ModelNotFoundError): The name is neither a directory nor resolvable on the hub.
    RAISES (ValueError): Not an ALBERT or BERT, or a damaged or inconsistent BERT.
    """
    model_dir, notes = sentence_transformers_encoder(local_checkpoint_dir(name))
    model_type = srsly.read_json(config_file(model_dir)).get("model_type")
    if model_type is None:
        raise ValueError(f"{config_file(model_dir)} names no model_type: add "
                         '"model_type": "bert" if it is a BERT.')
    if model_type == "albert":
        return save_albert(model_dir, Path(output_dir), notes)
    if model_type == "bert":
        return convert_bert(model_dir, Path(output_dir), notes)
    reason = WHY_NOT.get(model_type, f"'{model_type}' is not an ALBERT or BERT architecture")
    raise ValueError(f"'{name}' is a {model_type} model, not an ALBERT or a BERT: {reason}. "
                     f"{CONVERTIBLE}.")


def local_checkpoint_dir(name: Union[str, Path]) -> Path:
    """A directory as it is; a hub name as its snapshot in the hub cache (fetched if online)."""
    if Path(name).is_dir():
        return Path(name)
    try:
        return Path(snapshot_download(str(name), allow_patterns=HUB_FILES))
    except Exception as err:  # the hub client's errors share no base class
        raise ModelNotFoundError(model_not_found_message(str(name), err)) from err


def config_file(model_dir: Path) -> Path:
    path = model_dir / "config.json"
    if not path.is_file():
        raise ValueError(f"{model_dir} has no config.json: it is not a transformers checkpoint.")
    return path


def sentence_transformers_encoder(model_dir: Path) -> tuple[Path, tuple[str, ...]]:
    """The encoder folder of a sentence-transformers directory (else the directory itself).

    RETURNS (Tuple[Path, Tuple[str, ...]]): The folder and a note on the modules left out.
    """
    modules_file = model_dir / "modules.json"
    if not modules_file.is_file():
        return model_dir, ()
    modules = srsly.read_json(modules_file)
    encoders = [m for m in modules if str(m.get("type", "")).endswith("models.Transformer")]
    if len(encoders) != 1:
        raise ValueError(f"{modules_file} lists {len(encoders)} Transformer modules, not one.")
    others = [str(m.get("path") or m.get("name")) for m in modules if m is not encoders[0]]
    notes = (
        f"Not carried over: sentence-transformers modules {', '.join(others)} (they make "
        "one vector per sentence; the pipeline pools pieces per token)",
    ) if others else ()
    return model_dir / encoders[0].get("path", ""), notes


def save_albert(model_dir: Path, output_dir: Path, notes: tuple[str, ...]) -> ImportedCheckpoint:
    """Save an ALBERT checkpoint's tokenizer and weights as they are."""
    hf_model = load_hf_albert(model_dir, {}, {})
    output_dir.mkdir(parents=True, exist_ok=True)
    hf_model.tokenizer.save_pretrained(str(output_dir))
    hf_model.transformer.save_pretrained(str(output_dir), safe_serialization=True)
    write_training_recipe(output_dir, PRETRAINED_RECIPE)
    return ImportedCheckpoint(output_dir, "albert", notes, PRETRAINED_RECIPE)


def convert_bert(model_dir: Path, output_dir: Path, notes: tuple[str, ...]) -> ImportedCheckpoint:
    """Convert a BERT checkpoint directory into an ALBERT one with the same function."""
    config = BertConfig.from_pretrained(str(model_dir))
    if config.position_embedding_type != "absolute" or config.is_decoder or \
            config.add_cross_attention:
        raise ValueError(
            f"{config_file(model_dir)}: only encoders with absolute positions and no "
            f"cross-attention convert (position_embedding_type="
            f"{config.position_embedding_type!r}, is_decoder={config.is_decoder}).")
    tokenizer = wordpiece_tokenizer(model_dir, config)
    state, weights_file = read_weights(model_dir)
    encoder_state, head_weights = split_encoder_weights(state)
    check_encoder_weights(encoder_state, config, weights_file)
    albert = albert_from_bert(config, encoder_state, tokenizer.cls_token_id,
                              tokenizer.sep_token_id, "BertTokenizer")
    if head_weights:
        notes += (f"Not carried over: task-head weights {head_weights}",)
    if "pooler.dense.weight" not in encoder_state:
        notes += ("No pooler in the checkpoint: the ALBERT pooler (unused by the pipeline) "
                  "keeps a seeded initialisation",)
    output_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(output_dir))
    albert.save_pretrained(str(output_dir), safe_serialization=True)
    write_training_recipe(output_dir, PRETRAINED_RECIPE)
    return ImportedCheckpoint(output_dir, "bert", notes, PRETRAINED_RECIPE)


def wordpiece_tokenizer(model_dir: Path, config: BertConfig) -> BertTokenizerFast:
    """The checkpoint's WordPiece tokenizer (its casing kept), for at most 512 positions."""
    if not any((model_dir / name).is_file() for name in ("vocab.txt", "tokenizer.json")):
        raise ValueError(f"{model_dir} has no WordPiece vocabulary (vocab.txt or "
                         "tokenizer.json): the BERT's tokenizer cannot be kept.")
    max_length = min(MODEL_MAX_LENGTH, config.max_position_embeddings)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir), use_fast=True,
                                                  model_max_length=max_length)
    except Exception as err:  # `tokenizers` reports a bad tokenizer.json as a bare Exception
        raise ValueError(f"{model_dir}: the tokenizer does not load "
                         f"({type(err).__name__}: {err}).") from err
    backend = getattr(tokenizer, "backend_tokenizer", None)
    kind = type(backend.model).__name__ if backend is not None else "no fast tokenizer"
    if not isinstance(tokenizer, BertTokenizerFast) or kind != "WordPiece":
        raise ValueError(f"{model_dir}: the tokenizer is a {type(tokenizer).__name__} "
                         f"({kind}), not a WordPiece BertTokenizer.")
    if len(tokenizer) > config.vocab_size:
        raise ValueError(f"{model_dir}: the tokenizer has {len(tokenizer)} pieces but "
                         f"config.json's vocab_size is {config.vocab_size}.")
    return tokenizer


def read_weights(model_dir: Path) -> tuple[dict[str, torch.Tensor], Path]:
    """All tensors of the checkpoint (sharded or not), without unpickling code."""
    found = [model_dir / name for name in WEIGHT_FILES if (model_dir / name).is_file()]
    if not found:
        raise ValueError(f"{model_dir} has no PyTorch weights ({' or '.join(WEIGHT_FILES)}); "
                         "TensorFlow and Flax weights are not read.")
    path = found[0]
    files = [path]
    if path.name.endswith(".index.json"):
        shards = srsly.read_json(path)["weight_map"].values()
        files = [model_dir / shard for shard in sorted(set(shards))]
    state: dict[str, torch.Tensor] = {}
    for file in files:
        try:
            if file.suffix == ".safetensors":
                state.update(load_file(str(file)))
            else:
                state.update(torch.load(file, map_location="cpu", weights_only=True))
        except (OSError, RuntimeError, SafetensorError, pickle.UnpicklingError) as err:
            raise ValueError(f"{file} cannot be read as weights ({type(err).__name__}: "
                             f"{str(err).splitlines()[0] if str(err) else ''}).") from err
    return state, path


def split_encoder_weights(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], str]:
    """BertModel-named encoder weights, and a summary of the weights outside the encoder.

    A task model (BertForMaskedLM, ...) prefixes the encoder with `bert.`; pre-2019
    checkpoints name LayerNorm parameters gamma/beta.
    """
    prefix = "bert." if any(key.startswith("bert.embeddings.") for key in state) else ""
    encoder: dict[str, torch.Tensor] = {}
    heads: collections.Counter = collections.Counter()
    for key, tensor in state.items():
        name = key[len(prefix):] if key.startswith(prefix) else key
        if not key.startswith(prefix) or name.split(".")[0] not in ENCODER_PARTS:
            heads[".".join(key.split(".")[:2]) + ".*"] += 1
        elif name not in SAVED_BUFFERS:
            name = name.replace("LayerNorm.gamma", "LayerNorm.weight")
            encoder[name.replace("LayerNorm.beta", "LayerNorm.bias")] = tensor
    summary = ", ".join(f"{group} ({count} tensors)" for group, count in sorted(heads.items()))
    return encoder, summary


def check_encoder_weights(
    encoder: dict[str, torch.Tensor], config: BertConfig, weights_file: Path
) -> None:
    """Raise a ValueError unless the weights are exactly the BertModel that config describes."""
    with torch.device("meta"):
        expected = {key: value.shape for key, value in BertModel(config).state_dict().items()}
    mismatched = [
        f"{key} is {tuple(encoder[key].shape)}, config.json implies {tuple(shape)}"
        for key, shape in expected.items()
        if key in encoder and encoder[key].shape != shape
    ]
    if mismatched:
        raise ValueError(f"{weights_file} does not fit the config.json beside it: "
                         f"{'; '.join(mismatched[:4])}"
                         + (f" (and {len(mismatched) - 4} more)" if len(mismatched) > 4 else ""))
    missing = [key for key in expected if key not in encoder and not key.startswith("pooler.")]
    if missing:
        raise ValueError(f"{weights_file} lacks {len(missing)} BERT encoder weights, e.g. "
                         f"{', '.join(missing[:4])}.")
    extra = [key for key in encoder if key not in expected]
    if extra:
        raise ValueError(f"{weights_file} has encoder weights a plain BERT has not, e.g. "
                         f"{', '.join(extra[:4])}: such a variant does not convert exactly.")
