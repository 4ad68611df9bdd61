"""Per-token explanations of a pipeline's text categories and entities (integrated gradients).

`explain(nlp, text)` attributes each output of the heads that listen to the shared
`albert_transformer` to the doc's tokens, with integrated gradients (IG, computed by
captum's `IntegratedGradients`) taken in ALBERT's word-embedding space:

- Input x: the word embeddings of the doc's wordpieces. Baseline x': the same, with every
  content piece replaced by `[PAD]` (special pieces — `[CLS]`, `[SEP]`, padding — are
  kept, so they get no attribution). `baseline="zero"` uses zero vectors instead.
- Path: x' + α (x − x') for α in [0, 1]; the gradient is integrated with Gauss–Legendre
  quadrature over `n_steps` nodes. Position and token-type embeddings are added by ALBERT
  as usual, so only the words change along the path.
- f: the head's output, computed by the pipeline's own models: the encoder in PyTorch,
  then the listener's pooling and the head in thinc (`HeadScores`, a torch autograd
  function around the head's forward and backward pass). No part of the head is
  re-implemented, so f(x) equals what the pipeline predicts (categories.py, entities.py).
- Piece attribution = Σ_dims (x − x') · mean gradient; pieces.py sums them into tokens.
  Token attributions then add up to f(x) − f(x') up to quadrature error (`Target.delta`,
  and captum's own `Target.convergence_delta` over the pieces): IG's completeness.
"""

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, Optional

import numpy
import torch
from spacy.language import Language
from spacy.pipeline import EntityRecognizer
from spacy.tokens import Doc
from spacy_transformers.data_classes import TransformerData
from thinc.api import NumpyOps

from .categories import CategoryProbe
from .entities import EntityProbe
from .heads import HeadProbe, check_labels, find_heads, find_transformer
from .pieces import PieceToTokens, content_mask
from .targets import BASELINES, Baseline, Explanation, Target

try:
    from captum.attr import IntegratedGradients
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError('explain needs captum: pip install "spacy-albert[explain]"') from err

# Token and piece completeness errors may differ by float32 rounding, no more.
PIECE_TOKEN_TOLERANCE = 1e-4


class EmbeddingPath:
    """The encoder as a function of the doc's word embeddings, with both ends of the path.

    encoder (torch.nn.Module): The Hugging Face encoder (in eval mode).
    tokenizer (Any): Its tokenizer (for the [PAD] id).
    trf_data (TransformerData): The doc's encoder output: its pieces.
    content (numpy.ndarray): `content_mask` of the pieces: those the baseline replaces.
    baseline (Baseline): 'pad' or 'zero'.
    """

    def __init__(self, encoder: torch.nn.Module, tokenizer: Any, trf_data: TransformerData,
                 content: numpy.ndarray, baseline: Baseline):
        self.encoder = encoder
        device = next(encoder.parameters()).device
        wordpieces = trf_data.wordpieces
        ids = torch.as_tensor(numpy.asarray(wordpieces.input_ids), dtype=torch.long,
                              device=device)
        replaced = torch.as_tensor(content, device=device)
        embed = encoder.get_input_embeddings()
        with torch.no_grad():
            self.inputs = embed(ids)
            if baseline == "pad":
                pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
                self.baseline = embed(torch.where(replaced, pad_id, ids))
            else:
                self.baseline = torch.where(replaced[..., None], 0.0, self.inputs)
        self.attention_mask = torch.as_tensor(numpy.asarray(wordpieces.attention_mask),
                                              device=device)
        types = wordpieces.token_type_ids
        self.token_type_ids = (
            None if types is None else torch.as_tensor(numpy.asarray(types), device=device)
        )

    def hidden(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Last hidden states (n_points, n_rows, n_pieces, width) of word embeddings
        (n_points, n_rows, n_pieces, embedding size): one doc per point."""
        n_points, n_rows = embeddings.shape[:2]
        kwargs = {"attention_mask": self.attention_mask.repeat(n_points, 1)}
        if self.token_type_ids is not None:
            kwargs["token_type_ids"] = self.token_type_ids.repeat(n_points, 1)
        flat = embeddings.reshape(n_points * n_rows, *embeddings.shape[2:])
        hidden = self.encoder(inputs_embeds=flat, **kwargs).last_hidden_state
        return hidden.reshape(n_points, n_rows, *hidden.shape[1:])

    def endpoints(self) -> numpy.ndarray:
        """Hidden states at the baseline and at the input, (2, n_rows, n_pieces, width)."""
        with torch.no_grad():
            hidden = self.hidden(torch.stack([self.baseline, self.inputs]))
        return hidden.cpu().numpy().astype("float32")


class HeadScores(torch.autograd.Function):
    """A head probe as a differentiable torch operation: hidden states → target scores.

    The forward pass runs the head's thinc model; the backward pass its backprop, which
    hands d scores / d hidden states back to PyTorch.
    """

    @staticmethod
    def forward(ctx: Any, hidden: torch.Tensor, probe: HeadProbe) -> torch.Tensor:
        scores, backprop = probe(hidden.detach().cpu().numpy().astype("float32"))
        ctx.backprop = backprop
        ctx.hidden_like = (hidden.dtype, hidden.device)
        return torch.as_tensor(scores, device=hidden.device)

    @staticmethod
    def backward(ctx: Any, d_scores: torch.Tensor) -> tuple[torch.Tensor, None]:
        d_hidden = ctx.backprop(d_scores.detach().cpu().numpy())
        dtype, device = ctx.hidden_like
        return torch.as_tensor(d_hidden, dtype=dtype, device=device), None


def integrate(path: EmbeddingPath, probe: HeadProbe, index: int, n_steps: int,
              batch_size: int) -> tuple[numpy.ndarray, float]:
    """Integrated gradients of one of a probe's targets, per wordpiece.

    path (EmbeddingPath): The encoder and the path's ends.
    probe (HeadProbe): The head, planned.
    index (int): The target's index in `probe.targets`.
    n_steps (int): Gauss–Legendre nodes.
    batch_size (int): Nodes per encoder forward pass.
    RETURNS (Tuple[numpy.ndarray, float]): Attribution per flat piece (n_rows * n_pieces,)
        and captum's convergence delta.
    """
    def scores(embeddings: torch.Tensor) -> torch.Tensor:
        return HeadScores.apply(path.hidden(embeddings), probe)

    attributions, delta = IntegratedGradients(scores).attribute(
        path.inputs[None], baselines=path.baseline[None], target=index, n_steps=n_steps,
        method="gausslegendre", internal_batch_size=batch_size,
        return_convergence_delta=True,
    )
    piece = attributions[0].sum(dim=-1).detach().cpu().numpy().reshape(-1)
    return piece.astype("float64"), float(delta[0])


def plan_probes(heads: Sequence[tuple[str, Any]], doc: Doc, inputs: dict[str, Doc],
                endpoints: numpy.ndarray, wanted: Optional[set[str]]) -> list[HeadProbe]:
    """One planned probe per head with something to explain."""
    ner_names = [name for name, pipe in heads if isinstance(pipe, EntityRecognizer)]
    probes: list[HeadProbe] = []
    for name, pipe in heads:
        probe: HeadProbe
        if isinstance(pipe, EntityRecognizer):
            probe = EntityProbe(name, pipe, inputs[name], doc._.trf_data,
                                check_ents=name == ner_names[-1])
        else:
            probe = CategoryProbe(name, pipe, inputs[name], doc._.trf_data)
        probe.plan(endpoints, doc, wanted)
        if probe.targets:
            probes.append(probe)
    return probes


def attribute(target: Target, path: EmbeddingPath, probe: HeadProbe, index: int,
              to_tokens: PieceToTokens, n_steps: int, batch_size: int) -> None:
    """Fill a target's token attributions and convergence delta."""
    piece, delta = integrate(path, probe, index, n_steps, batch_size)
    target.attributions = [float(v) for v in to_tokens(piece)]
    target.convergence_delta = delta
    if abs(target.delta - delta) > PIECE_TOKEN_TOLERANCE * max(1.0, abs(delta)):
        warnings.warn(
            f"{target.title}: the token and piece attributions differ by "
            f"{target.delta - delta:+.2e} in sum (content pieces aligned to no token).",
            stacklevel=3,
        )


@contextlib.contextmanager
def eval_mode(module: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """The module in eval mode (no dropout) inside the context, as it was after it."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


def run_pipeline(nlp: Language, text: str) -> tuple[Doc, dict[str, Doc]]:
    """Run the pipeline; also keep a copy of each component's input doc."""
    doc = nlp.make_doc(text)
    inputs: dict[str, Doc] = {}
    for name, proc in nlp.pipeline:
        inputs[name] = doc.copy()
        doc = proc(doc)
    return doc, inputs


def explain(
    nlp: Language,
    text: str,
    labels: Optional[Sequence[str]] = None,
    n_steps: int = 32,
    *,
    baseline: Baseline = "pad",
    batch_size: int = 16,
) -> Explanation:
    """Attribute the pipeline's text categories and entities to the tokens of `text`.

    nlp (Language): A pipeline with an `albert_transformer` and listening heads.
    text (str): The text to explain.
    labels (Optional[Sequence[str]]): Only these text category / entity labels (default:
        every text category label and every predicted entity).
    n_steps (int): Integration steps (Gauss–Legendre nodes); more steps, smaller `delta`.
    baseline (Baseline): 'pad' (content pieces → [PAD]) or 'zero' (zero word embeddings).
    batch_size (int): Integration steps per encoder forward pass (a memory knob).
    RETURNS (Explanation): Attributions per target; `Target.delta` is the completeness
        error.
    """
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")
    if n_steps < 1:
        raise ValueError("n_steps must be at least 1")
    trf_name, trf = find_transformer(nlp)
    if not isinstance(trf.model.ops, NumpyOps):
        raise ValueError(
            "explain runs on the CPU: load the pipeline without spacy.require_gpu() "
            "(or call spacy.require_cpu() before spacy.load)."
        )
    heads = find_heads(nlp, trf_name)
    wanted = set(labels) if labels is not None else None
    check_labels(wanted, heads)
    doc, inputs = run_pipeline(nlp, text)
    explanation = Explanation(text, [t.text for t in doc], [t.whitespace_ for t in doc],
                              n_steps=n_steps, baseline=baseline)
    trf_data = doc._.trf_data
    if not len(doc) or trf_data is None or "last_hidden_state" not in trf_data.model_output:
        return explanation
    wordpieces = trf_data.wordpieces
    content = content_mask(numpy.asarray(wordpieces.input_ids),
                           numpy.asarray(wordpieces.attention_mask), trf.model.tokenizer)
    to_tokens = PieceToTokens(trf_data.align, content)
    with eval_mode(trf.model.transformer) as encoder:
        path = EmbeddingPath(encoder, trf.model.tokenizer, trf_data, content, baseline)
        for probe in plan_probes(heads, doc, inputs, path.endpoints(), wanted):
            for index, target in enumerate(probe.targets):
                attribute(target, path, probe, index, to_tokens, n_steps, batch_size)
                explanation.targets.append(target)
    # Text categories first, then entities in text order (the sort is stable).
    explanation.targets.sort(key=lambda t: (t.kind != "textcat", t.start or 0))
    return explanation
