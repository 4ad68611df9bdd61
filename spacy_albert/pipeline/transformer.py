"""The `albert_transformer` component: one ALBERT pass per doc, shared by every head.

It is spacy-transformers' `Transformer` (listeners, `doc._.trf_data`, batching by
length) with ALBERT defaults and the `spacy-albert.AlbertTransformer.v2` model, plus a
clear error when a saved pipeline's weights are damaged.
"""

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from pickle import UnpicklingError
from typing import Callable, Union

import srsly
import torch
from safetensors import SafetensorError
from spacy.language import Language
from spacy.tokens import Doc
from spacy_transformers.data_classes import FullTransformerBatch
from spacy_transformers.pipeline_component import Transformer
from thinc.api import Config, Model

DEFAULT_CONFIG_STR = """
[albert_transformer]
max_batch_items = 4096

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


class AlbertTransformer(Transformer):
    """spacy-transformers' Transformer, with a clear error for damaged model files."""

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
) -> AlbertTransformer:
    """Construct the shared ALBERT encoder component.

    model (Model[List[Doc], FullTransformerBatch]): Usually
        `spacy-albert.AlbertTransformer.v2`.
    set_extra_annotations (Callable): Sets extra annotations after `doc._.trf_data`.
    max_batch_items (int): Upper bound on padded pieces per inner batch (memory knob).
    """
    return AlbertTransformer(
        nlp.vocab, model, set_extra_annotations, max_batch_items=max_batch_items, name=name
    )
