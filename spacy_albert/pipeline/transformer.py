"""The `albert_transformer` component: one ALBERT pass per doc, shared by every head.

It is spacy-transformers' `Transformer` (listeners, `doc._.trf_data`, batching by
length) with ALBERT defaults and the `spacy-albert.AlbertTransformer.v2` model, plus a
clear error when a saved pipeline's weights are damaged, and its own learning rate: a
pretrained encoder is fine-tuned at a small fraction of the rate its freshly initialised
heads need (`learn_rate_scale`).
"""

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from pickle import UnpicklingError
from typing import Any, Callable, Optional, Union

import srsly
import torch
from safetensors import SafetensorError
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy_transformers.data_classes import FullTransformerBatch
from spacy_transformers.pipeline_component import Transformer
from thinc.api import Config, Model, Optimizer

from ..models.layer_rates import layer_lr_scale

DEFAULT_CONFIG_STR = """
[albert_transformer]
max_batch_items = 4096
learn_rate_scale = 1.0
layer_lr_decay = 1.0

[albert_transformer.set_extra_annotations]
@annotation_setters = "spacy-transformers.null_annotation_setter.v1"

[albert_transformer.model]
@architectures = "spacy-albert.AlbertTransformer.v2"
name = "albert-base-v2"
tokenizer_config = {"use_fast": true, "model_max_length": 512}
transformer_config = {}
mixed_precision = false
grad_scaler_config = {}
inference_dtype = "float32"

[albert_transformer.model.get_spans]
@span_getters = "spacy-transformers.strided_spans.v1"
window = 128
stride = 96
"""

DEFAULT_CONFIG = Config().from_str(DEFAULT_CONFIG_STR)


_PROCESS_THAT_SET_THREADS = os.getpid()


def single_thread_torch_if_forked() -> None:
    """In a process forked from the one that imported us, run torch on one thread.

    `nlp.pipe(n_process=N)` forks workers; an OpenMP pool the parent already used
    deadlocks in a forked child (torch's DataLoader workers do the same for this). Checked
    when the component runs, so importing the package changes nothing process-wide.
    """
    global _PROCESS_THAT_SET_THREADS
    if os.getpid() != _PROCESS_THAT_SET_THREADS:
        torch.set_num_threads(1)
        _PROCESS_THAT_SET_THREADS = os.getpid()


class CorruptModelError(ValueError):
    """A saved pipeline's transformer weights cannot be read."""


class ScaledOptimizer:
    """The wrapped optimizer, its steps scaled by `scale` (thinc's `lr_scale`, which scales
    the update and the weight decay) and, per parameter, by `layer_scale(name)` (the key's
    name: thinc's torch shims key a parameter as (shim id, name)); moments, update counts
    and schedules stay the wrapped optimizer's."""

    def __init__(self, optimizer: Optimizer, scale: float,
                 layer_scale: Optional[Callable[[str], float]] = None) -> None:
        self.optimizer = optimizer
        self.scale = scale
        self.layer_scale = layer_scale

    def __call__(self, key: Any, weights: Any, gradient: Any, *, lr_scale: float = 1.0) -> Any:
        scale = lr_scale * self.scale
        if self.layer_scale is not None and isinstance(key, tuple):
            scale *= self.layer_scale(key[1])
        return self.optimizer(key, weights, gradient, lr_scale=scale)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.optimizer, name)


class AlbertTransformer(Transformer):
    """spacy-transformers' Transformer, with a clear error for damaged model files and
    its own learning rate (`learn_rate_scale` times the optimizer's, decaying by
    `layer_lr_decay` per layer group downwards)."""

    def __init__(self, *args: Any, learn_rate_scale: float = 1.0, layer_lr_decay: float = 1.0,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not learn_rate_scale > 0:
            raise ValueError(f"[{self.name}] learn_rate_scale must be > 0, got {learn_rate_scale}")
        if not 0 < layer_lr_decay <= 1:
            raise ValueError(
                f"[{self.name}] layer_lr_decay must be in (0, 1], got {layer_lr_decay}")
        self.learn_rate_scale = learn_rate_scale
        self.layer_lr_decay = layer_lr_decay

    def _scaled(self, sgd: Optional[Optimizer]) -> Any:
        if sgd is None or (self.learn_rate_scale == 1.0 and self.layer_lr_decay == 1.0):
            return sgd
        if self.layer_lr_decay == 1.0:
            return ScaledOptimizer(sgd, self.learn_rate_scale)
        n_groups = self.model.transformer.config.num_hidden_groups
        decay = self.layer_lr_decay
        return ScaledOptimizer(sgd, self.learn_rate_scale,
                               lambda name: layer_lr_scale(name, n_groups, decay))

    def update(self, examples: Iterable[Example], *, drop: float = 0.0,
               sgd: Optional[Optimizer] = None,
               losses: Optional[dict[str, float]] = None) -> dict[str, float]:
        # The last listener's backprop steps the encoder when `sgd` is given here.
        return super().update(examples, drop=drop, sgd=self._scaled(sgd), losses=losses)

    def finish_update(self, sgd: Optimizer) -> None:
        # What `nlp.update` (and so `spacy train`) calls after every component's update.
        super().finish_update(self._scaled(sgd))

    def __call__(self, doc: Doc) -> Doc:
        single_thread_torch_if_forked()
        return super().__call__(doc)

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        single_thread_torch_if_forked()
        yield from super().pipe(stream, batch_size=batch_size)

    def from_disk(
        self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()
    ) -> "AlbertTransformer":
        model_file = Path(path) / "model"
        if "model" not in exclude and model_file.is_file():
            try:
                srsly.msgpack_loads(model_file.read_bytes())
            except Exception as err:
                raise CorruptModelError(
                    f"The transformer weights in '{model_file}' are damaged or truncated "
                    f"({type(err).__name__}). Re-save or re-download the pipeline."
                ) from err
        try:
            return super().from_disk(path, exclude=exclude)
        except (
            KeyError,
            RuntimeError,
            ValueError,
            TypeError,
            EOFError,
            SafetensorError,
            UnpicklingError,
        ) as err:
            if isinstance(err, CorruptModelError):
                raise
            raise CorruptModelError(
                f"Cannot load the transformer from '{path}': {type(err).__name__}: {err}"
            ) from err


@Language.factory(
    "albert_transformer",
    assigns=["doc._.trf_data"],
    default_config=DEFAULT_CONFIG["albert_transformer"],
)
def make_albert_transformer(
    nlp: Language,
    name: str,
    model: Model[list[Doc], FullTransformerBatch],
    set_extra_annotations: Callable[[list[Doc], FullTransformerBatch], None],
    max_batch_items: int,
    learn_rate_scale: float,
    layer_lr_decay: float,
) -> AlbertTransformer:
    """Construct the shared ALBERT encoder component.

    model (Model[List[Doc], FullTransformerBatch]): Usually
        `spacy-albert.AlbertTransformer.v2`.
    set_extra_annotations (Callable): Sets extra annotations after `doc._.trf_data`.
    max_batch_items (int): Upper bound on padded pieces per inner batch (memory knob).
    learn_rate_scale (float): The encoder's steps are this times the optimizer's (whose
        rate the heads get): below 1 fine-tunes a pretrained encoder gently while the
        heads, freshly initialised, learn at their own pace.
    layer_lr_decay (float): Layer-wise decay of the encoder's rate (ELECTRA's recipe): its
        top layer group steps at this times the rate above, each group below at this times
        the one above it, the embeddings at this times the lowest group; 1 turns it off.
    """
    return AlbertTransformer(
        nlp.vocab, model, set_extra_annotations, max_batch_items=max_batch_items, name=name,
        learn_rate_scale=learn_rate_scale, layer_lr_decay=layer_lr_decay,
    )
