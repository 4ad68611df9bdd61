"""Loading ALBERT checkpoints safely and offline, and storing weights without pickle.

- A name resolves to a local directory first; hub names go through transformers'
  normal cache, and `HF_HUB_OFFLINE=1` is honoured. When nothing resolves, one error
  says how to build a local model instead of a hub stack trace.
- `trust_remote_code` is never passed, so no checkpoint can run its own code.
- Inside a saved pipeline, weights are a safetensors blob in the msgpack file that
  spacy-transformers already writes (upstream stores a pickled `torch.save`).
"""

import contextlib
import os
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any, Union

import srsly
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from spacy.util import SimpleFrozenDict
from spacy_transformers.data_classes import HFObjects
from spacy_transformers.layers.hf_shim import HFShim
from spacy_transformers.layers.transformer_model import huggingface_from_pretrained
from spacy_transformers.util import make_tempdir
from thinc.api import ArgsKwargs, get_torch_default_device, xp2torch
from transformers import MODEL_MAPPING, AutoConfig, AutoTokenizer, PretrainedConfig, PreTrainedModel
from transformers.activations import ACT2FN, NewGELUActivation

WEIGHTS_FORMAT = "safetensors"


class ModelNotFoundError(OSError):
    """The transformer name is neither a local directory nor loadable from the hub."""


def model_not_found_message(name: str, cause: BaseException) -> str:
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    reason = "HF_HUB_OFFLINE is set" if offline else "the Hugging Face hub could not be reached"
    return (
        f"Cannot load the transformer '{name}': it is not a local directory and {reason} "
        f"({type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''}).\n"
        "Build a local ALBERT instead and point the config at it:\n"
        "  python -m spacy_albert init-model models/albert-tiny --corpus corpus/en/pretrain.txt "
        "--lang en --size tiny\n"
        "  python -m spacy train configs/textcat_ner.cfg --paths.transformer models/albert-tiny ..."
    )


def load_hf_albert(
    name: Union[str, Path], tokenizer_config: dict[str, Any], transformer_config: dict[str, Any]
) -> HFObjects:
    """Load tokenizer + model from a local directory or a hub name, with a clear error.

    name (Union[str, Path]): Local directory or hub model name.
    tokenizer_config (Dict[str, Any]): Keyword arguments for the tokenizer.
    transformer_config (Dict[str, Any]): Keyword arguments for the model config.
    RETURNS (HFObjects): Tokenizer, model and vocab file contents.
    """
    tokenizer_config = {k: v for k, v in tokenizer_config.items() if k != "trust_remote_code"}
    transformer_config = {k: v for k, v in transformer_config.items() if k != "trust_remote_code"}
    source = Path(name)
    if source.is_dir():
        name = source.absolute()
    elif source.exists() or str(name).startswith((".", "/")):
        raise ModelNotFoundError(
            f"Cannot load the transformer '{name}': the path is not a directory. "
            "Build one with `python -m spacy_albert init-model DIR --corpus TEXT`."
        )
    try:
        hf_model = huggingface_from_pretrained(name, tokenizer_config, transformer_config)
    except (OSError, ValueError) as err:
        raise ModelNotFoundError(model_not_found_message(str(name), err)) from err
    use_fused_gelu(hf_model.transformer)
    return hf_model


def use_fused_gelu(model: torch.nn.Module) -> torch.nn.Module:
    """Run ALBERT's tanh GELU ("gelu_new") as torch's fused `gelu(approximate="tanh")`.

    transformers computes "gelu_new" with six element-wise tensor ops; the fused kernel
    is the same function (outputs differ by ~1e-7) and makes an albert-base forward
    ~15% faster on CPU. The saved config keeps `hidden_act = "gelu_new"`.
    """
    for module in model.modules():
        for child_name, child in module.named_children():
            if type(child) is NewGELUActivation:
                setattr(module, child_name, ACT2FN["gelu_pytorch_tanh"])
    return model


def model_from_config(config: PretrainedConfig) -> PreTrainedModel:
    """`AutoModel.from_config` for the architectures transformers ships, without its
    registry scan: that imports the configuration module of every architecture it knows
    (~630 modules, ~8 MiB resident) to find one class.
    """
    return MODEL_MAPPING[type(config)]._from_config(config)


class AlbertShim(HFShim):
    """HFShim that serializes the weights as safetensors and never unpickles."""

    def __init__(
        self,
        name: str,
        tokenizer_config: dict[str, Any],
        transformer_config: dict[str, Any],
        mixed_precision: bool = False,
        grad_scaler_config: dict[str, Any] = None,
    ):
        if grad_scaler_config is None:
            grad_scaler_config = {}
        hf_model = HFObjects(None, None, None, tokenizer_config, transformer_config)
        super().__init__(
            hf_model, mixed_precision=mixed_precision, grad_scaler_config=grad_scaler_config
        )

    def predict(self, inputs: ArgsKwargs) -> Any:
        """Forward pass for prediction under `torch.inference_mode()`.

        thinc's PyTorchShim uses `no_grad`; inference mode also skips autograd's
        version counting and view tracking. The outputs are only read (converted to
        arrays), never differentiated.
        """
        self._model.eval()
        with torch.inference_mode(), torch.autocast(
            device_type="cuda", enabled=self._mixed_precision
        ):
            outputs = self._model(*inputs.args, **inputs.kwargs)
        self._model.train()
        return outputs

    @contextlib.contextmanager
    def use_params(self, params: dict[Any, Any]) -> Iterator[None]:
        """Use the optimizer's parameter averages as the weights inside the block.

        thinc's Optimizer keeps a shim's averages under (shim id, parameter name), the key
        `PyTorchShim.finish_update` updates them by, but `PyTorchShim.use_params` only
        reads "pytorch_{id}_{name}" keys, so `use_averages = true` never reached the
        encoder: evaluation and the saved pipeline used the last weights. Both key forms
        are read here; the weights are swapped in place and put back after the block.
        """
        weights = dict(self._model.named_parameters())
        averaged = {name: params[(self.id, name)] for name in weights if (self.id, name) in params}
        if not averaged:
            with super().use_params(params):
                yield
            return
        backup = {name: weights[name].detach().clone() for name in averaged}
        with torch.no_grad():
            for name, average in averaged.items():
                weights[name].copy_(xp2torch(average, device=weights[name].device))
        try:
            yield
        finally:
            with torch.no_grad():
                for name, weight in backup.items():
                    weights[name].copy_(weight)

    def to_bytes(self) -> bytes:
        hf_model = self._hfmodel
        if hf_model.transformer is None:
            msg: dict[str, Any] = {
                "config": {},
                "state": b"",
                "tokenizer": {},
                "_init_tokenizer_config": hf_model._init_tokenizer_config,
                "_init_transformer_config": hf_model._init_transformer_config,
            }
            return srsly.msgpack_dumps(msg)
        tokenizer = hf_model.tokenizer
        tokenizer_files: dict[str, Any] = {}
        with make_tempdir() as temp_dir:
            if getattr(tokenizer, "vocab_file", None) and hf_model.vocab_file_contents:
                vocab_path = temp_dir / tokenizer.vocab_files_names["vocab_file"]
                vocab_path.write_bytes(hf_model.vocab_file_contents)
                tokenizer.vocab_file = str(vocab_path.absolute())
            tokenizer.save_pretrained(str(temp_dir.absolute()))
            for path in temp_dir.glob("**/*"):
                if path.is_file():
                    tokenizer_files[path.name] = path.read_bytes()
        tokenizer_files["kwargs"] = {"use_fast": tokenizer.is_fast}
        from .int8 import quantization_method  # the int8 layer only matters once quantized

        state = {k: v.detach().contiguous().cpu() for k, v in self._model.state_dict().items()}
        msg = {
            "config": hf_model.transformer.config.to_dict(),
            "state": save_safetensors(state),
            "state_format": WEIGHTS_FORMAT,
            "tokenizer": tokenizer_files,
            # int8 weights are plain tensors too; the flag rebuilds the int8 layers on load.
            "quantization": quantization_method(self._model),
            "_init_tokenizer_config": {},
            "_init_transformer_config": {},
        }
        return srsly.msgpack_dumps(msg)

    def from_bytes(self, bytes_data: bytes) -> "AlbertShim":
        msg = srsly.msgpack_loads(bytes_data)
        if not msg["config"]:
            self._hfmodel = HFObjects(
                None, None, None, msg["_init_tokenizer_config"], msg["_init_transformer_config"]
            )
            return self
        with make_tempdir() as temp_dir:
            config_file = temp_dir / "config.json"
            srsly.write_json(config_file, msg["config"])
            config = AutoConfig.from_pretrained(config_file)
            tokenizer_files = dict(msg["tokenizer"])
            tokenizer_kwargs = tokenizer_files.pop("kwargs", {})
            for file_name, data in tokenizer_files.items():
                (temp_dir / file_name).write_bytes(data)
            tokenizer = AutoTokenizer.from_pretrained(str(temp_dir.absolute()), **tokenizer_kwargs)
            vocab_file_contents = None
            if getattr(tokenizer, "vocab_file", None):
                vocab_path = temp_dir / tokenizer.vocab_files_names["vocab_file"]
                vocab_file_contents = vocab_path.read_bytes()
        transformer = use_fused_gelu(model_from_config(config))
        device = get_torch_default_device()
        if msg.get("state_format") == WEIGHTS_FORMAT:
            state = load_safetensors(msg["state"])
        else:
            # A pipeline saved by upstream spacy-transformers: tensors only, no code.
            state = torch.load(BytesIO(msg["state"]), map_location="cpu", weights_only=True)
        if msg.get("quantization"):
            from .int8 import quantize_model

            quantize_model(transformer, msg["quantization"])
        transformer.load_state_dict(state)
        transformer.to(device)
        self._hfmodel = HFObjects(
            tokenizer, transformer, vocab_file_contents, SimpleFrozenDict(), SimpleFrozenDict()
        )
        self._model = transformer
        return self
