"""Training forward over a batch's rows in length groups, each padded to its own longest.

spaCy batches a pipeline's docs together, so a joint textcat+ner batch mixes long and short
texts (CoNLL sentences and SST-2 reviews, say) and one encoder call pads every row to the
longest. The rows sorted by length and run as a few calls, each padded to its own longest
row, cost the encoder far fewer padded pieces (a batch of 32 CoNLL + 32 SST-2 sentences:
~4,200 padded pieces in one call, ~2,800 in two), with the same gradients: every real
piece attends to the same pieces (padding is masked), and the gradients of the calls add
up in the parameters as those of one call would.
"""

from typing import Any, Callable

import numpy
import torch
from spacy_transformers.data_classes import WordpieceBatch
from thinc.api import Model
from transformers.utils import ModelOutput


def rows_up_to(wordpieces: WordpieceBatch, rows: numpy.ndarray, width: int) -> WordpieceBatch:
    """The given rows, cut to their first `width` pieces (right-padded rows)."""
    types = wordpieces.token_type_ids
    return WordpieceBatch(
        strings=[wordpieces.strings[i][:width] for i in rows],
        input_ids=wordpieces.input_ids[rows, :width],
        attention_mask=wordpieces.attention_mask[rows, :width],
        lengths=[wordpieces.lengths[i] for i in rows],
        token_type_ids=None if types is None else types[rows, :width],
    )


def length_groups(wordpieces: WordpieceBatch, n_groups: int
                  ) -> list[tuple[numpy.ndarray, int]]:
    """Row indices sorted by length and cut into up to `n_groups` groups of equal size,
    each with its longest row's length; one group (all rows, the batch width) when that
    would not shorten any call."""
    lengths = numpy.asarray(wordpieces.attention_mask).sum(axis=1).astype(int)
    n_rows, width = wordpieces.input_ids.shape
    order = numpy.argsort(lengths, kind="stable")
    groups = [(rows, int(lengths[rows].max()))
              for rows in numpy.array_split(order, min(n_groups, n_rows)) if rows.size]
    if len(groups) < 2 or all(group_width >= width for _, group_width in groups):
        return [(numpy.arange(n_rows), width)]
    return groups


def forward_in_length_groups(
    layer: Model, wordpieces: WordpieceBatch, n_groups: int
) -> tuple[ModelOutput, Callable[[ModelOutput], list]]:
    """The training forward of the wrapped encoder over the rows in length groups.

    layer (Model): The wrapped HF encoder (`model.layers[0]`).
    wordpieces (WordpieceBatch): The batch's rows, right-padded.
    n_groups (int): Encoder calls at most (1: one call, as the wrapper runs it).
    RETURNS (tuple): The outputs in the batch's row order and width (zeros past each
        row's group width), and the backprop that takes their gradients.
    """
    groups = length_groups(wordpieces, n_groups)
    if len(groups) == 1:
        return layer(wordpieces, True)
    n_rows, width = wordpieces.input_ids.shape
    widths = [group_width for _, group_width in groups]
    calls = [layer(rows_up_to(wordpieces, rows, group_width), True)
             for rows, group_width in groups]
    device = calls[0][0]["last_hidden_state"].device
    row_index = [torch.as_tensor(rows, device=device) for rows, _ in groups]
    merged = ModelOutput()
    for key in calls[0][0]:
        merged[key] = _merge([output[key] for output, _ in calls], row_index, widths,
                             n_rows, width)

    def backprop(d_output: ModelOutput) -> list:
        # As upstream's backprop: the first field is the last hidden state's gradient
        # (spacy-transformers names the fields output_0, output_1...).
        d_hidden = next(iter(d_output.values()))
        for (_, group_backprop), rows, group_width in zip(calls, row_index, widths):
            group_backprop(ModelOutput(last_hidden_state=d_hidden[rows, :group_width]))
        return []

    return merged, backprop


def _merge(values: list[Any], row_index: list[torch.Tensor], widths: list[int],
           n_rows: int, width: int) -> Any:
    """One output field of the groups' calls, in the batch's row order: per-piece fields
    (rows, pieces, hidden) padded with zeros to the batch width, per-row fields (the
    pooler's) as they are."""
    first = values[0]
    if isinstance(first, (tuple, list)):
        return type(first)(_merge([value[i] for value in values], row_index, widths, n_rows,
                                  width) for i in range(len(first)))
    if not isinstance(first, torch.Tensor):
        return first
    if first.dim() not in (2, 3):
        raise ValueError(f"Cannot merge an encoder output of shape {tuple(first.shape)} "
                         "across length groups: set train_length_groups = 1.")
    per_piece = first.dim() == 3  # (rows, pieces, hidden); else (rows, hidden)
    shape = (n_rows, width, first.shape[2]) if per_piece else (n_rows, first.shape[1])
    merged = first.new_zeros(shape)
    with torch.no_grad():
        for value, rows, group_width in zip(values, row_index, widths):
            if per_piece:
                merged[rows, :group_width] = value.detach()
            else:
                merged[rows] = value.detach()
    return merged
