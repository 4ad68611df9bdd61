"""Per-doc and per-segment views of one encoder batch, in memory that grows with the
output, not with the number of tokens times Python objects.

spacy-transformers splits a batch per doc through a dict keyed by every `Token` of every
doc (`get_token_positions`): on a 1M-token doc that dict alone was ~190 MB at its peak.
The positions it looks up are plain arithmetic (each doc's tokens follow the previous
docs' tokens), so `AlbertTransformerBatch` computes them instead. `slice_trf_data` gives
the heads a token range of a long doc's output (see `pipeline/segments.py`).
"""

from typing import Any, Optional, cast

import numpy
import torch
from spacy.tokens import Doc
from spacy_transformers.data_classes import FullTransformerBatch, TransformerData
from thinc.api import torch2xp
from thinc.types import Ints1d, Ragged
from transformers.utils import ModelOutput


def _as_xp(output: Any, n_rows: int) -> Any:
    """An output field as arrays sharing the tensors' memory, or None if it is not
    per row (upstream keeps the same fields)."""
    if isinstance(output, torch.Tensor):
        return torch2xp(output)
    if hasattr(output, "shape"):
        return output
    if isinstance(output, (tuple, list)) and all(
        hasattr(item, "shape") and item.shape[0] == n_rows for item in output
    ):
        return [torch2xp(item) if isinstance(item, torch.Tensor) else item for item in output]
    return None


def _xp_outputs(model_output: ModelOutput, n_rows: int) -> dict[str, Any]:
    """The per-row output fields as arrays (see `_as_xp`)."""
    return {key: converted for key, output in model_output.items()
            if (converted := _as_xp(output, n_rows)) is not None}


def _rows(outputs: dict[str, Any], start: int, end: int) -> ModelOutput:
    """Rows start:end of every output field (views, no copy)."""
    sliced = ModelOutput()
    for key, output in outputs.items():
        if isinstance(output, list):
            sliced[key] = [item[start:end] for item in output]
        else:
            sliced[key] = output[start:end]
    return sliced


class AlbertTransformerBatch(FullTransformerBatch):
    """spacy-transformers' batch, split per doc without a dict over every token."""

    def split_by_doc(self) -> list[TransformerData]:
        """One TransformerData per doc, as upstream's `split_by_doc` gives.

        A doc's first aligned token sits after all tokens of the docs before it (each
        doc counted once, as upstream's `get_token_positions` counts them).
        """
        n_rows = self.wordpieces.input_ids.shape[0]
        outputs = _xp_outputs(self.model_output, n_rows)
        doc_offsets: dict[int, int] = {}
        n_tokens = 0
        for doc_spans in self.spans:
            for span in doc_spans:
                if id(span.doc) not in doc_offsets:
                    doc_offsets[id(span.doc)] = n_tokens
                    n_tokens += len(span.doc)
        split: list[TransformerData] = []
        row = 0
        prev_pieces = 0
        for doc_spans in self.spans:
            if len(doc_spans) == 0 or len(doc_spans[0]) == 0:
                split.append(TransformerData.empty())
                continue
            first, last = doc_spans[0], doc_spans[-1]
            start_token = doc_offsets[id(first.doc)] + first.start
            end_token = doc_offsets[id(last.doc)] + last.end
            end_row = row + len(doc_spans)
            wordpieces = self.wordpieces[row:end_row]
            align = self.align[start_token:end_token]
            if prev_pieces:  # the first doc's alignment stays a view (5 MiB per 1M pieces)
                align.data = align.data - prev_pieces
            split.append(TransformerData(wordpieces=wordpieces,
                                         model_output=_rows(outputs, row, end_row),
                                         align=align))
            prev_pieces += wordpieces.input_ids.size
            row = end_row
        return split


def slice_trf_data(data: TransformerData, start: int, end: int) -> TransformerData:
    """The encoder output of tokens start:end of a doc, as if they were a doc of their own:
    the rows (windows) their pieces lie in, and the alignment re-indexed into them.

    Pooling the slice gives each token exactly the vector the whole doc gives it.

    data (TransformerData): A doc's `doc._.trf_data`.
    start (int): First token.
    end (int): One past the last token.
    RETURNS (TransformerData): The slice; its rows are views of the doc's.
    """
    align = data.align[start:end]
    pieces = cast(numpy.ndarray, align.dataXd)
    row_len = data.wordpieces.input_ids.shape[1] if data.wordpieces.input_ids.ndim == 2 else 0
    if pieces.size == 0 or row_len == 0:
        first_row = last_row = 0
    else:
        first_row = int(pieces.min()) // row_len
        last_row = int(pieces.max()) // row_len + 1
    n_rows = data.wordpieces.input_ids.shape[0]
    outputs = _xp_outputs(data.model_output, n_rows)
    return TransformerData(
        wordpieces=data.wordpieces[first_row:last_row],
        model_output=_rows(outputs, first_row, last_row),
        align=Ragged(cast(Ints1d, pieces - first_row * row_len), align.lengths),
    )


def doc_trf_data(doc: Doc) -> Optional[TransformerData]:
    """The doc's encoder output if the encoder ran on it, else None."""
    data = doc._.get("trf_data") if Doc.has_extension("trf_data") else None
    return data if data is not None and len(data.model_output) else None
