"""A listener that gives a text classifier every piece the encoder read, not token vectors.

spaCy's listener pools each token's pieces into one vector, so a `TextCatReduce` mean is a
mean over tokens: a token cut into four pieces weighs as much as one kept whole, and the
[CLS]/[SEP] pieces, which lie in no token, are left out. Sentence encoders such as
all-MiniLM are trained to be read as the mean of all their pieces, [CLS] and [SEP]
included; this listener gives a head that mean. On SST-2 with MiniLM it made no
difference: frozen, its linear probe scores as the token mean does
(bench/pooling_probe.py), and fine-tuned, dev accuracy is the same (README, "same
checkpoint"). So the configs keep spaCy's listener.

A doc read in several strided windows gives each window's pieces, so a piece in two
windows is counted twice and each window adds its [CLS]/[SEP]: the mean is then one of
the windows' means, weighted by their lengths.
"""

from typing import Callable, cast

from spacy.tokens import Doc
from spacy.util import registry
from spacy_transformers.data_classes import TransformerData
from spacy_transformers.layers import TransformerListener
from thinc.api import Model, chain
from thinc.types import Floats2d, Floats3d
from transformers.utils import ModelOutput

PIECE_LISTENER_ARCH_NAME = "spacy-albert.PieceListener.v1"
# What the piece listener becomes under `replace_listeners` (a head's own encoder copy).
PIECE_TOK2VEC_ARCH_NAME = "spacy-albert.AlbertPieceTok2VecTransformer.v1"


def trfs2pieces(grad_factor: float) -> Model[list[TransformerData], list[Floats2d]]:
    """Each doc's encoder output as one row per piece the encoder read, window by window
    ([CLS], the text's pieces, [SEP]; no padding)."""
    return Model("trfs2pieces", _forward, attrs={"grad_factor": grad_factor})


def _forward(model: Model, trf_datas: list[TransformerData], is_train: bool
             ) -> tuple[list[Floats2d], Callable]:
    ops = model.ops
    outputs: list[Floats2d] = []
    # An empty doc's zero rows get the batch's width, so the docs' rows concatenate.
    width = next((states.shape[-1] for states in
                  (trf_data.model_output.get("last_hidden_state") for trf_data in trf_datas)
                  if states is not None and states.size), 0)
    for trf_data in trf_datas:
        states = trf_data.model_output.get("last_hidden_state")
        lengths = trf_data.wordpieces.lengths
        if states is None or states.size == 0 or not lengths:  # the encoder read nothing
            outputs.append(ops.alloc2f(0, width))
            continue
        outputs.append(ops.xp.concatenate([cast(Floats3d, states)[row, :length]
                                           for row, length in enumerate(lengths)]))

    def backprop(d_outputs: list[Floats2d]) -> list[TransformerData]:
        # As spacy-transformers' `trfs2arrays`: no gradient entry for a doc the encoder
        # gave no output (an empty doc gets no span), a zero one for a zero-size output.
        d_trf_datas = []
        for trf_data, d_pieces in zip(trf_datas, d_outputs):
            states = trf_data.model_output.get("last_hidden_state")
            if states is None:
                continue
            d_states = ops.alloc(states.shape, dtype=states.dtype)
            start = 0
            for row, length in enumerate(trf_data.wordpieces.lengths if states.size else []):
                d_states[row, :length] = d_pieces[start:start + length]
                start += length
            d_states *= model.attrs["grad_factor"]
            d_trf_datas.append(TransformerData(
                model_output=ModelOutput(last_hidden_state=d_states),
                wordpieces=trf_data.wordpieces, align=trf_data.align))
        return d_trf_datas

    return outputs, backprop


@registry.architectures(PIECE_LISTENER_ARCH_NAME)
def piece_listener_v1(grad_factor: float = 1.0, upstream: str = "*"
                      ) -> Model[list[Doc], list[Floats2d]]:
    """A listener to the encoder giving each doc one row per piece it read ([CLS] and
    [SEP] included), for a text classifier that pools pieces rather than tokens.

    grad_factor (float): Scales the gradient passed into the encoder.
    upstream (str): The encoder component's name, or "*" for any.
    """
    listener = TransformerListener(upstream_name=upstream)
    model: Model = chain(listener, trfs2pieces(grad_factor))
    model.set_ref("listener", listener)
    return model
