"""Per-token explanations of a pipeline's text categories and entities (integrated gradients).

`explain(nlp, text)` attributes each output of the heads that listen to the shared
`albert_transformer` to the doc's tokens, with integrated gradients (IG) taken in
ALBERT's word-embedding space:

- Input x: the word embeddings of the doc's wordpieces. Baseline x': the same, with every
  content piece replaced by `[PAD]` (special pieces — `[CLS]`, `[SEP]`, padding — are
  kept, so they get no attribution). `baseline="zero"` uses zero vectors instead.
- Path: x' + α (x − x') for α in [0, 1]; the gradient is integrated with Gauss–Legendre
  quadrature over `n_steps` nodes. Position and token-type embeddings are added by ALBERT
  as usual, so only the words change along the path.
- f: the head's output, computed by the pipeline's own models: the encoder in PyTorch,
  then the listener's pooling and the head in thinc, whose backward pass gives
  d f / d(last hidden state); PyTorch carries that back to the embeddings. No part of the
  head is re-implemented, so f(x) equals what the pipeline predicts.
- Piece attribution = Σ_dims (x − x') · mean gradient; a piece covering several tokens
  splits it evenly, and a bare "▁" piece (aligned to no token) gives its share to the next
  piece in its window. Token attributions then add up to f(x) − f(x') up to quadrature
  error (`Target.delta`): IG's completeness.

What f is for each head:

- Text categories (`albert_textcat`, `textcat`, `textcat_multilabel`): the label's
  probability, as in `doc.cats` (softmax for exclusive classes, sigmoid for multilabel).
- Entities (`ner`): spaCy's transition-based NER has no per-token softmax. Each move is
  chosen greedily from scores over the valid moves; training fits a softmax over them.
  For an entity f is the probability of the moves that built it — the product, over the
  entity's tokens, of the softmax (over valid moves) probability of the move taken (e.g.
  B-PER, L-PER) — with the parse state held to the predicted one (the moves before the
  entity are replayed, not re-decided). The baseline value is the same product at x'.
"""

import contextlib
import html
import json
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy
import torch
from spacy.language import Language
from spacy.pipeline import EntityRecognizer, TextCategorizer
from spacy.pipeline.textcat_multilabel import MultiLabel_TextCategorizer
from spacy.tokens import Doc
from spacy_transformers.data_classes import TransformerData
from spacy_transformers.layers.listener import TransformerListener
from spacy_transformers.pipeline_component import Transformer
from thinc.api import Model, NumpyOps
from transformers.file_utils import ModelOutput

BASELINES = ("pad", "zero")
# Pipeline scores recomputed through the explanation path must match within this.
SCORE_TOLERANCE = 1e-4


@dataclass
class Target:
    """One explained output: a text category's probability or an entity's probability.

    kind (str): 'textcat' or 'entity'.
    component (str): The pipeline component that produced it.
    label (str): The category or entity label.
    score (float): f(input): the label's probability / the entity's move probability.
    baseline_score (float): f(baseline).
    attributions (List[float]): One number per token; positive raises the score.
    predicted (bool): The label is predicted (argmax / over threshold); entities: True.
    start (Optional[int]): Entity start token.
    end (Optional[int]): Entity end token (exclusive).
    text (Optional[str]): Entity text.
    start_char (Optional[int]): Entity start character.
    end_char (Optional[int]): Entity end character.
    """

    kind: str
    component: str
    label: str
    score: float
    baseline_score: float
    attributions: list[float]
    predicted: bool = True
    start: Optional[int] = None
    end: Optional[int] = None
    text: Optional[str] = None
    start_char: Optional[int] = None
    end_char: Optional[int] = None

    @property
    def delta(self) -> float:
        """Completeness error: Σ attributions − (f(input) − f(baseline))."""
        return float(sum(self.attributions) - (self.score - self.baseline_score))

    @property
    def title(self) -> str:
        """A short heading, e.g. 'textcat: POSITIVE' or "ner: PER 'Marcus Thorne'"."""
        if self.kind == "entity":
            return f"{self.component}: {self.label} {self.text!r}"
        return f"{self.component}: {self.label}"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "component": self.component,
            "label": self.label,
            "score": self.score,
            "baseline_score": self.baseline_score,
            "delta": self.delta,
            "predicted": self.predicted,
            "attributions": list(self.attributions),
        }
        if self.kind == "entity":
            data.update(start=self.start, end=self.end, text=self.text,
                        start_char=self.start_char, end_char=self.end_char)
        return data


@dataclass
class Explanation:
    """Token attributions for every explained output of one text.

    text (str): The text.
    tokens (List[str]): The doc's token texts.
    whitespace (List[str]): Each token's trailing whitespace.
    targets (List[Target]): One per text category label and per entity.
    n_steps (int): Integration steps.
    baseline (str): 'pad' or 'zero'.
    """

    text: str
    tokens: list[str]
    whitespace: list[str]
    targets: list[Target] = field(default_factory=list)
    n_steps: int = 32
    baseline: str = "pad"

    def get(self, label: str, kind: Optional[str] = None) -> list[Target]:
        """The targets with this label (optionally only of kind 'textcat' / 'entity')."""
        return [t for t in self.targets if t.label == label and (kind is None or t.kind == kind)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "tokens": [{"text": t, "ws": ws} for t, ws in zip(self.tokens, self.whitespace)],
            "method": "integrated_gradients",
            "space": "albert_word_embeddings",
            "quadrature": "gauss-legendre",
            "n_steps": self.n_steps,
            "baseline": self.baseline,
            "targets": [t.to_dict() for t in self.targets],
        }

    def to_json(self, path: Union[str, Path]) -> None:
        """Write `to_dict()` to a JSON file (floats written exactly, UTF-8)."""
        # The standard library writes the shortest repr that round-trips; srsly's ujson
        # would cut floats to 9 significant digits.
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=2)
        Path(path).write_text(text + "\n", encoding="utf8")

    def to_html(self, page: bool = True) -> str:
        """Render in displaCy's style: one section per target, tokens shaded by attribution."""
        return render_html(self, page=page)


# ------------------------------------------------------------------------ head probing


class _HeadProbe:
    """Feeds chosen encoder outputs into a head's listener and catches its gradient.

    Inside the context, the head's `TransformerListener` returns `self.inputs` (one
    TransformerData per doc) instead of reading `doc._.trf_data`, and its backward pass
    stores the gradient w.r.t. them in `self.captured`. Dropout rates are set to 0 and the
    listener's `grad_factor` to 1 (both are training knobs, not part of the function);
    parameter gradients the head accumulates are rolled back on exit.
    """

    def __init__(self, model: Model):
        listeners = [n for n in model.walk() if isinstance(n, TransformerListener)]
        if len(listeners) != 1:
            raise ValueError(
                f"Expected one transformer listener in model '{model.name}', "
                f"found {len(listeners)}."
            )
        self.model = model
        self.listener = listeners[0]
        self.inputs: list[TransformerData] = []
        self.captured: list[list[TransformerData]] = []

    def _forward(self, model: Model, docs: list[Doc], is_train: bool) -> tuple[list, Callable]:
        if len(docs) != len(self.inputs):
            raise ValueError(f"{len(docs)} docs for {len(self.inputs)} probe inputs.")

        def backprop(d_trf_datas: list[TransformerData]) -> list:
            self.captured.append(d_trf_datas)
            return []

        return list(self.inputs), backprop

    def take(self) -> numpy.ndarray:
        """The last captured gradient as one (n_docs, *hidden_shape) array; clears it."""
        if not self.captured:
            raise RuntimeError("The head's backward pass did not reach its listener.")
        d_trf_datas = self.captured.pop()
        self.captured.clear()
        grads = [d.model_output["last_hidden_state"] for d in d_trf_datas]
        return numpy.stack([self.model.ops.to_numpy(g) for g in grads])

    @contextlib.contextmanager
    def active(self) -> Iterator["_HeadProbe"]:
        nodes = list(self.model.walk())
        saved_func = self.listener._func
        saved_attrs = [
            (node, key, node.attrs[key])
            for node in nodes
            for key in ("dropout_rate", "grad_factor")
            if key in node.attrs
        ]
        # thinc keeps parameter gradients per model; undo what the backward passes add.
        saved_grads = [(node, dict(node._params._grads)) for node in nodes]
        saved_grads = [
            (node, {k: v.copy() for k, v in grads.items()}) for node, grads in saved_grads
        ]
        self.listener._func = self._forward
        for node, key, _ in saved_attrs:
            node.attrs[key] = 0.0 if key == "dropout_rate" else 1.0
        try:
            yield self
        finally:
            self.listener._func = saved_func
            for node, key, value in saved_attrs:
                node.attrs[key] = value
            for node, grads in saved_grads:
                node._params._grads = grads
            self.inputs = []
            self.captured = []


def _softmax(scores: numpy.ndarray) -> numpy.ndarray:
    shifted = scores - scores.max(axis=-1, keepdims=True)
    exp = numpy.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


@dataclass
class _Head:
    name: str
    component: Any
    probe: _HeadProbe


def _has_fused_softmax(model: Model) -> bool:
    """Whether the model ends in thinc's `Softmax` layer (affine + softmax).

    Its backward pass takes d(loss)/d(logits) — the cross-entropy shortcut — rather than
    d/d(probabilities), so the softmax Jacobian has to be applied before calling it.
    (`softmax_activation` and `Logistic` backpropagate the true Jacobian.)
    """
    node = model
    while node.layers:
        node = node.layers[-1]
    return node.name == "softmax" and node.has_param("W")


class _TextcatHead(_Head):
    """f_label = the label's column of the textcat model's output."""

    def labels(self) -> list[str]:
        return list(self.component.labels)

    def evaluate(
        self, trf_datas: list[TransformerData], docs: list[Doc], columns: Sequence[int],
        with_grad: bool = True,
    ) -> tuple[numpy.ndarray, list[Optional[numpy.ndarray]]]:
        """Scores (n, n_labels) and, per requested column, d score / d hidden."""
        probe = self.probe
        probe.inputs = trf_datas
        model = self.component.model
        scores, backprop = model(docs, is_train=False)
        scores_np = model.ops.to_numpy(scores).astype("float64")
        fused = _has_fused_softmax(model)
        grads: list[Optional[numpy.ndarray]] = []
        for column in columns:
            if not with_grad:
                grads.append(None)
                continue
            d_scores = model.ops.alloc2f(*scores.shape)
            d_scores[:, column] = 1.0
            if fused:
                d_scores = model.ops.backprop_softmax(scores, d_scores, axis=-1)
            backprop(d_scores)
            grads.append(probe.take())
        return scores_np, grads


@dataclass
class _Trajectory:
    """The predicted NER moves: class index, move name and buffer token per step."""

    classes: list[int]
    names: list[str]
    tokens: list[int]
    valid: list[numpy.ndarray]


class _NerHead(_Head):
    """f_entity = Π over the entity's moves of softmax-over-valid-moves(move taken)."""

    def _step_model(self, docs: list[Doc]) -> Any:
        step_model, finish = self.component.model(docs, is_train=True)
        step_model.attrs["dropout_rate"] = 0.0
        return step_model, finish

    def decode(self, trf_data: TransformerData, doc: Doc) -> _Trajectory:
        """Greedy decoding (as `Parser.greedy_parse`) on the given encoder output."""
        moves = self.component.moves
        names = [moves.get_class_name(i) for i in range(moves.n_moves)]
        self.probe.inputs = [trf_data]
        step_model, _ = self._step_model([doc])
        states = moves.init_batch([doc])
        traj = _Trajectory([], [], [], [])
        while not states[0].is_final():
            scores, _ = step_model(states, is_train=False)
            valid = numpy.array([moves.is_valid(states[0], name) for name in names], dtype=bool)
            row = numpy.where(valid, scores[0], -numpy.inf)
            best = int(numpy.argmax(row))
            traj.classes.append(best)
            traj.names.append(names[best])
            traj.tokens.append(int(states[0].B(0)))
            seen = step_model._class_mask > 0
            traj.valid.append((valid & seen) | (numpy.arange(len(names)) == best))
            moves.apply_transition(states[0], names[best])
        return traj

    @staticmethod
    def entities(traj: _Trajectory) -> list[tuple[int, int, str, list[int]]]:
        """(start, end, label, steps) per entity built by the trajectory."""
        ents = []
        start, steps = -1, []
        for step, (name, token) in enumerate(zip(traj.names, traj.tokens)):
            move, _, label = name.partition("-")
            if move == "U" and label:
                ents.append((token, token + 1, label, [step]))
            elif move == "B":
                start, steps = token, [step]
            elif move == "I" and start >= 0:
                steps.append(step)
            elif move == "L" and start >= 0:
                ents.append((start, token + 1, label, steps + [step]))
                start, steps = -1, []
        return ents

    def evaluate(
        self, trf_datas: list[TransformerData], docs: list[Doc], traj: _Trajectory,
        entities: Sequence[tuple[int, int, str, list[int]]], with_grad: bool = True,
    ) -> tuple[numpy.ndarray, list[Optional[numpy.ndarray]]]:
        """Entity probabilities (n, n_entities) and, per entity, d prob / d hidden."""
        moves = self.component.moves
        self.probe.inputs = trf_datas
        step_model, finish = self._step_model(docs)
        states = moves.init_batch(docs)
        last = max((steps[-1] for *_, steps in entities), default=-1)
        step_scores: list[numpy.ndarray] = []
        step_backprops: list[Callable] = []
        for step in range(last + 1):
            scores, backprop = step_model(states, is_train=True)
            step_scores.append(numpy.asarray(scores, dtype="float64"))
            step_backprops.append(backprop)
            for state in states:
                moves.apply_transition(state, traj.names[step])
        probs = numpy.ones((len(docs), len(entities)))
        grads: list[Optional[numpy.ndarray]] = []
        for j, (*_, steps) in enumerate(entities):
            p_steps = {}
            for step in steps:
                valid = traj.valid[step]
                p = numpy.zeros_like(step_scores[step])
                p[:, valid] = _softmax(step_scores[step][:, valid])
                p_steps[step] = p
                probs[:, j] *= p[:, traj.classes[step]]
            if not with_grad:
                grads.append(None)
                continue
            step_model.backprops = []
            for step in steps:
                onehot = numpy.zeros(step_scores[step].shape[1])
                onehot[traj.classes[step]] = 1.0
                # d Π_t p_t(a_t) / d s_t = f · (onehot(a_t) − p_t) on the valid moves.
                d_scores = probs[:, j, None] * (onehot[None, :] - p_steps[step])
                d_scores[:, ~traj.valid[step]] = 0.0
                step_backprops[step](numpy.ascontiguousarray(d_scores, dtype="float32"))
            finish(None)
            grads.append(self.probe.take())
        return probs, grads


# ------------------------------------------------------------------------ main entry


def _transformer(nlp: Language) -> tuple[str, Transformer]:
    for name, pipe in nlp.pipeline:
        if isinstance(pipe, Transformer):
            return name, pipe
    raise ValueError(
        "explain needs a pipeline with an `albert_transformer` (or spacy-transformers "
        f"`transformer`) component; this one has {nlp.pipe_names}."
    )


def _heads(nlp: Language, trf_name: str) -> list[_Head]:
    heads: list[_Head] = []
    for name, pipe in nlp.pipeline:
        if not isinstance(pipe, (TextCategorizer, EntityRecognizer)):
            continue
        listeners = [n for n in pipe.model.walk() if isinstance(n, TransformerListener)]
        if not any(n.upstream_name in (trf_name, "*") for n in listeners):
            warnings.warn(
                f"Component '{name}' does not listen to '{trf_name}' (its own encoder copy "
                "or another tok2vec): it is not explained.",
                stacklevel=3,
            )
            continue
        if isinstance(pipe, EntityRecognizer):
            if pipe.cfg.get("beam_width", 1) != 1:
                warnings.warn(f"Beam NER '{name}' is not explained (greedy NER only).",
                              stacklevel=3)
                continue
            heads.append(_NerHead(name, pipe, _HeadProbe(pipe.model)))
        else:
            heads.append(_TextcatHead(name, pipe, _HeadProbe(pipe.model)))
    return heads


def _content_mask(
    input_ids: numpy.ndarray, attention: numpy.ndarray, tokenizer: Any
) -> numpy.ndarray:
    """Pieces that carry the text: attended, and not [CLS]/[SEP]/[PAD]/[MASK] ([UNK] is)."""
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    special.discard(getattr(tokenizer, "unk_token_id", None))
    return (attention > 0) & ~numpy.isin(input_ids, list(special))


def _piece_owner(align_flat: numpy.ndarray, content: numpy.ndarray) -> numpy.ndarray:
    """For each flat piece, the flat piece whose tokens receive its attribution.

    Aligned pieces own themselves; an unaligned content piece (a bare "▁") hands its share
    to the next aligned piece of its row, else the previous one; others get -1.
    """
    n_rows, n_cols = content.shape
    aligned = numpy.zeros(n_rows * n_cols, dtype=bool)
    aligned[align_flat] = True
    aligned = aligned.reshape(n_rows, n_cols)
    owner = numpy.full((n_rows, n_cols), -1, dtype=numpy.int64)
    for row in range(n_rows):
        cols = numpy.flatnonzero(aligned[row])
        for col in numpy.flatnonzero(content[row] | aligned[row]):
            if aligned[row, col]:
                owner[row, col] = row * n_cols + col
            elif len(cols):
                later = cols[cols > col]
                target = later[0] if len(later) else cols[cols < col][-1]
                owner[row, col] = row * n_cols + target
    return owner.reshape(-1)


def _to_tokens(piece_attr: numpy.ndarray, trf_data: TransformerData, owner: numpy.ndarray,
               n_tokens: int) -> numpy.ndarray:
    """Sum piece attributions (flat, S*L) into tokens through the alignment."""
    flat = numpy.zeros_like(piece_attr)
    valid = owner >= 0
    numpy.add.at(flat, owner[valid], piece_attr[valid])
    align_flat = numpy.asarray(trf_data.align.dataXd, dtype=numpy.int64)
    lengths = numpy.asarray(trf_data.align.lengths, dtype=numpy.int64)
    shares = numpy.bincount(align_flat, minlength=flat.shape[0]).astype("float64")
    token_idx = numpy.repeat(numpy.arange(n_tokens), lengths)
    out = numpy.zeros(n_tokens)
    numpy.add.at(out, token_idx, flat[align_flat] / shares[align_flat])
    return out


def _run_pipeline(nlp: Language, text: str) -> tuple[Doc, dict[str, Doc]]:
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
    baseline: str = "pad",
    batch_size: int = 16,
) -> Explanation:
    """Attribute the pipeline's text categories and entities to the tokens of `text`.

    nlp (Language): A pipeline with an `albert_transformer` and listening heads.
    text (str): The text to explain.
    labels (Optional[Sequence[str]]): Only these text category / entity labels (default:
        every text category label and every predicted entity).
    n_steps (int): Integration steps (Gauss–Legendre nodes); more steps, smaller `delta`.
    baseline (str): 'pad' (content pieces → [PAD]) or 'zero' (zero word embeddings).
    batch_size (int): Integration steps per encoder forward pass (a memory knob).
    RETURNS (Explanation): Attributions per target; `Target.delta` is the completeness
        error.
    """
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")
    if n_steps < 1:
        raise ValueError("n_steps must be at least 1")
    trf_name, trf = _transformer(nlp)
    if not isinstance(trf.model.ops, NumpyOps):
        raise ValueError(
            "explain runs on the CPU: load the pipeline without spacy.require_gpu() "
            "(or call spacy.require_cpu() before spacy.load)."
        )
    heads = _heads(nlp, trf_name)
    doc, inputs = _run_pipeline(nlp, text)
    explanation = Explanation(text, [t.text for t in doc], [t.whitespace_ for t in doc],
                              n_steps=n_steps, baseline=baseline)
    wanted = set(labels) if labels is not None else None
    if wanted is not None:
        known = {label for h in heads if isinstance(h, _TextcatHead) for label in h.labels()}
        known |= {label for h in heads if isinstance(h, _NerHead) for label in h.component.labels}
        unknown = wanted - known
        if unknown:
            raise ValueError(
                f"Unknown labels {sorted(unknown)}; this pipeline has {sorted(known)}."
            )
    trf_data = doc._.trf_data
    if not len(doc) or trf_data is None or "last_hidden_state" not in trf_data.model_output:
        return explanation
    hf = trf.model.transformer
    tokenizer = trf.model.tokenizer
    with contextlib.ExitStack() as stack:
        for head in heads:
            stack.enter_context(head.probe.active())
        was_training = hf.training
        hf.eval()
        try:
            _explain_doc(explanation, doc, inputs, trf_data, hf, tokenizer, heads, wanted,
                         n_steps, baseline, batch_size)
        finally:
            hf.train(was_training)
    # Text categories first, then entities in text order (the sort is stable).
    explanation.targets.sort(key=lambda t: (t.kind != "textcat", t.start or 0))
    return explanation


def _explain_doc(
    explanation: Explanation, doc: Doc, inputs: dict[str, Doc], trf_data: TransformerData,
    hf: torch.nn.Module, tokenizer: Any, heads: list[_Head], wanted: Optional[set],
    n_steps: int, baseline: str, batch_size: int,
) -> None:
    device = next(hf.parameters()).device
    wordpieces = trf_data.wordpieces
    input_ids = numpy.asarray(wordpieces.input_ids)
    attention = numpy.asarray(wordpieces.attention_mask)
    content = _content_mask(input_ids, attention, tokenizer)
    owner = _piece_owner(numpy.asarray(trf_data.align.dataXd, dtype=numpy.int64), content)
    embed = hf.get_input_embeddings()
    ids_t = torch.as_tensor(input_ids, dtype=torch.long, device=device)
    with torch.no_grad():
        x = embed(ids_t)
        if baseline == "pad":
            pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
            base_ids = torch.where(torch.as_tensor(content, device=device),
                                   torch.full_like(ids_t, pad_id), ids_t)
            x_base = embed(base_ids)
        else:
            x_base = torch.where(torch.as_tensor(content, device=device)[..., None],
                                 torch.zeros_like(x), x)
    attention_t = torch.as_tensor(attention, device=device)
    token_types = wordpieces.token_type_ids
    types_t = None if token_types is None else torch.as_tensor(numpy.asarray(token_types),
                                                                  device=device)
    n_rows = input_ids.shape[0]

    def encode(alphas: numpy.ndarray, grad: bool) -> tuple[torch.Tensor, torch.Tensor, list]:
        a = torch.as_tensor(alphas, dtype=x.dtype, device=device)[:, None, None, None]
        emb = (x_base[None] + a * (x - x_base)[None]).reshape(-1, *x.shape[1:])
        emb = emb.detach().requires_grad_(grad)
        reps = len(alphas)
        kwargs = {"attention_mask": attention_t.repeat(reps, 1)}
        if types_t is not None:
            kwargs["token_type_ids"] = types_t.repeat(reps, 1)
        with torch.set_grad_enabled(grad):
            hidden = hf(inputs_embeds=emb, **kwargs).last_hidden_state
        hidden_np = hidden.detach().cpu().numpy().astype("float32")
        datas = [
            TransformerData(
                wordpieces=wordpieces,
                model_output=ModelOutput(last_hidden_state=hidden_np[k * n_rows:(k + 1) * n_rows]),
                align=trf_data.align,
            )
            for k in range(reps)
        ]
        return emb, hidden, datas

    # Endpoints (α = 0, 1): the targets, their scores, and the NER moves to replay.
    _, _, end_datas = encode(numpy.array([0.0, 1.0]), grad=False)
    plans: list[tuple[_Head, Any, list[Target]]] = []
    for head in heads:
        head_docs = [inputs[head.name].copy() for _ in range(2)]
        if isinstance(head, _TextcatHead):
            columns = [
                j for j, label in enumerate(head.labels()) if wanted is None or label in wanted
            ]
            if not columns:
                continue
            scores, _ = head.evaluate(end_datas, head_docs, columns, with_grad=False)
            _check_scores(head.name, scores[1], [doc.cats.get(lb) for lb in head.labels()])
            multi = isinstance(head.component, MultiLabel_TextCategorizer)
            threshold = float(head.component.cfg.get("threshold", 0.5))
            targets = []
            for column in columns:
                label = head.labels()[column]
                predicted = (scores[1, column] >= threshold if multi
                             else column == int(numpy.argmax(scores[1])))
                targets.append(Target("textcat", head.name, label, float(scores[1, column]),
                                      float(scores[0, column]), [], bool(predicted)))
            plans.append((head, columns, targets))
        else:
            if wanted is not None and not wanted & set(head.component.labels):
                continue
            traj = head.decode(end_datas[1], inputs[head.name].copy())
            ents = head.entities(traj)
            predicted = {(e.start, e.end, e.label_) for e in doc.ents}
            if {(s, e, lb) for s, e, lb, _ in ents} != predicted and head.name == _last_ner(heads):
                warnings.warn(
                    f"Replayed moves of '{head.name}' give entities {ents}, the pipeline "
                    f"{sorted(predicted)}; explaining the replayed ones.", stacklevel=3
                )
            ents = [e for e in ents if wanted is None or e[2] in wanted]
            if not ents:
                continue
            probs, _ = head.evaluate(end_datas, head_docs, traj, ents, with_grad=False)
            targets = [
                Target("entity", head.name, label, float(probs[1, j]), float(probs[0, j]), [],
                       True, start, end, doc[start:end].text, doc[start:end].start_char,
                       doc[start:end].end_char)
                for j, (start, end, label, _) in enumerate(ents)
            ]
            plans.append((head, (traj, ents), targets))
    if not plans:
        return

    # Integrated gradients: Gauss–Legendre nodes on [0, 1], weights summing to 1.
    nodes, weights = numpy.polynomial.legendre.leggauss(n_steps)
    alphas, weights = (nodes + 1.0) / 2.0, weights / 2.0
    sums = {id(t): torch.zeros_like(x) for _, _, targets in plans for t in targets}
    for lo in range(0, n_steps, batch_size):
        chunk, w = alphas[lo:lo + batch_size], weights[lo:lo + batch_size]
        emb, hidden, datas = encode(chunk, grad=True)
        w_t = torch.as_tensor(w, dtype=x.dtype, device=device)[:, None, None, None]
        for head, plan, targets in plans:
            head_docs = [inputs[head.name].copy() for _ in range(len(chunk))]
            if isinstance(head, _TextcatHead):
                _, grads = head.evaluate(datas, head_docs, plan)
            else:
                _, grads = head.evaluate(datas, head_docs, plan[0], plan[1])
            for target, d_hidden in zip(targets, grads):
                d_hidden_t = torch.as_tensor(d_hidden, dtype=hidden.dtype, device=device)
                (d_emb,) = torch.autograd.grad(
                    hidden, emb, grad_outputs=d_hidden_t.reshape(hidden.shape), retain_graph=True
                )
                d_emb = d_emb.reshape(len(chunk), *x.shape)
                sums[id(target)] += (w_t * d_emb).sum(dim=0)
        del emb, hidden
    diff = (x - x_base)
    for _, _, targets in plans:
        for target in targets:
            piece = (diff * sums[id(target)]).sum(dim=-1).detach().cpu().numpy().reshape(-1)
            tokens = _to_tokens(piece.astype("float64"), trf_data, owner, len(doc))
            target.attributions = [float(v) for v in tokens]
            explanation.targets.append(target)


def _last_ner(heads: list[_Head]) -> str:
    names = [h.name for h in heads if isinstance(h, _NerHead)]
    return names[-1] if names else ""


def _check_scores(name: str, ours: numpy.ndarray, pipeline: Sequence[Optional[float]]) -> None:
    for value, expected in zip(ours, pipeline):
        if expected is not None and abs(float(value) - float(expected)) > SCORE_TOLERANCE:
            warnings.warn(
                f"'{name}' scores recomputed in float32 ({float(value):.6f}) differ from the "
                f"pipeline's ({float(expected):.6f}): a bf16 `inference_dtype`, or a doc "
                "changed between the encoder and the head.",
                stacklevel=4,
            )
            return


# ------------------------------------------------------------------------ rendering

_FONT = '-apple-system, BlinkMacSystemFont, "Segoe UI", Helvetica, Arial, sans-serif, ' \
        '"Apple Color Emoji", "Segoe UI Emoji", "Segoe UI Symbol"'
_POSITIVE = (37, 99, 235)
_NEGATIVE = (220, 38, 38)

_CSS = f"""
body {{ font-family: {_FONT}; margin: 2em; color: #222; background: #fff; }}
h1 {{ font-size: 1.3em; margin-bottom: 0.2em; }}
h2 {{ font-size: 1.05em; margin: 1.6em 0 0.2em 0; }}
.meta {{ color: #666; font-size: 0.85em; margin: 0.2em 0 0.6em 0; }}
.entities {{ line-height: 2.5; direction: ltr; font-size: 16px; }}
.tok {{ padding: 0.25em 0.15em; border-radius: 0.35em; line-height: 1; }}
mark.ent {{ background: none; padding: 0.3em 0.3em; margin: 0 0.15em; line-height: 1;
  border-radius: 0.35em; border: 2px solid #7aecec; }}
.ent-label {{ font-size: 0.8em; font-weight: bold; line-height: 1; border-radius: 0.35em;
  text-transform: uppercase; vertical-align: middle; margin-left: 0.5rem; }}
.legend {{ display: flex; align-items: center; gap: 0.6em; font-size: 0.85em; color: #444; }}
.bar {{ width: 14em; height: 0.9em; border-radius: 0.3em; border: 1px solid #ddd;
  background: linear-gradient(to right, rgb{_NEGATIVE}, #fff, rgb{_POSITIVE}); }}
table.top {{ border-collapse: collapse; font-size: 0.85em; margin-top: 0.3em; }}
table.top td {{ padding: 0.1em 0.8em 0.1em 0; }}
"""


def _shade(value: float, scale: float) -> str:
    if scale <= 0 or value == 0:
        return "transparent"
    alpha = min(1.0, abs(value) / scale) * 0.85
    r, g, b = _POSITIVE if value > 0 else _NEGATIVE
    return f"rgba({r}, {g}, {b}, {alpha:.3f})"


def _section(explanation: Explanation, target: Target) -> str:
    values = target.attributions
    scale = max((abs(v) for v in values), default=0.0)
    parts = []
    for i, (token, ws) in enumerate(zip(explanation.tokens, explanation.whitespace)):
        value = values[i] if i < len(values) else 0.0
        style = f"background: {_shade(value, scale)}"
        if scale and abs(value) / scale > 0.6:
            style += "; color: #fff"
        span = (f'<span class="tok" style="{style}" title="{html.escape(token)}: '
                f'{value:+.4g}">{html.escape(token)}</span>')
        if target.kind == "entity" and i == target.start:
            parts.append('<mark class="ent">')
        parts.append(span)
        if target.kind == "entity" and target.end is not None and i == target.end - 1:
            parts.append(f'<span class="ent-label">{html.escape(target.label)}</span></mark>')
        parts.append(html.escape(ws))
    if target.kind == "entity":
        what = (f"probability of the moves that built this entity: {target.score:.4f} "
                f"(baseline {target.baseline_score:.4f})")
    else:
        flag = "predicted" if target.predicted else "not predicted"
        what = (f"probability {target.score:.4f} (baseline {target.baseline_score:.4f}), "
                f"{flag}")
    meta = (f"{what}; sum of attributions {sum(values):+.4f}, "
            f"completeness error {target.delta:+.2e}")
    ranked = sorted(range(len(values)), key=lambda i: -abs(values[i]))[:5]
    rows = "".join(
        f"<tr><td>{html.escape(explanation.tokens[i])}</td><td>{values[i]:+.4f}</td></tr>"
        for i in ranked if values[i] != 0
    )
    return (
        f'<section class="target" data-kind="{target.kind}" '
        f'data-label="{html.escape(target.label)}">\n'
        f"<h2>{html.escape(target.title)}</h2>\n"
        f'<div class="meta">{html.escape(meta)}</div>\n'
        f'<div class="entities">{"".join(parts)}</div>\n'
        f'<table class="top">{rows}</table>\n</section>'
    )


def render_html(explanation: Explanation, page: bool = True) -> str:
    """Tokens shaded by attribution (blue raises the score, red lowers it), one section per
    target, a legend, and each token's exact value on hover.

    explanation (Explanation): What to render.
    page (bool): A full HTML page (True) or a fragment to embed (False).
    RETURNS (str): The HTML.
    """
    legend = (
        '<div class="legend"><span>lowers the score</span><span class="bar"></span>'
        "<span>raises the score</span><span>· shading is relative to the largest |value| "
        "in each section; hover a token for its value</span></div>"
    )
    intro = (
        f"<h1>Why the pipeline predicts what it predicts</h1>\n"
        f'<div class="meta">Integrated gradients in ALBERT\'s word-embedding space, '
        f"{explanation.n_steps} steps, baseline: "
        f"{'[PAD] pieces' if explanation.baseline == 'pad' else 'zero embeddings'}. "
        f"Attributions add up to score − baseline score.</div>\n{legend}"
    )
    sections = "\n".join(_section(explanation, t) for t in explanation.targets)
    if not explanation.targets:
        sections = '<p class="meta">Nothing to explain (no labels or entities).</p>'
    body = f'<div class="spacy-albert-explain">\n{intro}\n{sections}\n</div>'
    if not page:
        return f"<style>{_CSS}</style>\n{body}"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>spacy-albert explain</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def _without(explanation: Explanation, drop: set[int]) -> str:
    pairs = zip(explanation.tokens, explanation.whitespace)
    return "".join(t + ws for i, (t, ws) in enumerate(pairs) if i not in drop)


def deletion_check(
    nlp: Language, texts: Sequence[str], k: int = 2, n_steps: int = 16, n_random: int = 3,
    seed: int = 0,
) -> dict[str, float]:
    """A faithfulness check: delete each text's top-k attributed tokens, or k random ones.

    For each text, the predicted category (highest score of the first text classifier)
    is explained; the k tokens with the largest attributions are removed from the text,
    and, separately, k random non-space tokens (`n_random` draws, fixed seed). Faithful
    attributions lower the label's probability more when their top tokens go.

    nlp (Language): The pipeline.
    texts (Sequence[str]): Texts with more than k non-space tokens (others are skipped).
    k (int): Tokens to delete.
    n_steps (int): Integration steps.
    n_random (int): Random deletions per text.
    seed (int): Seed of the random deletions.
    RETURNS (dict[str, float]): 'n' texts used, 'drop_top' and 'drop_random' (mean
        probability drops), 'share_top_larger' (texts where the top-k drop is larger).
    """
    import random

    rng = random.Random(seed)
    drops_top: list[float] = []
    drops_random: list[float] = []
    for text in texts:
        doc = nlp(text)
        if not doc.cats:
            raise ValueError("deletion_check needs a pipeline that sets doc.cats")
        label = max(doc.cats, key=lambda name: doc.cats[name])
        explanation = explain(nlp, text, labels=[label], n_steps=n_steps)
        target = explanation.get(label, "textcat")[0]
        words = [i for i, token in enumerate(explanation.tokens) if token.strip()]
        if len(words) <= k:
            continue
        top = sorted(words, key=lambda i: -target.attributions[i])[:k]
        variants = [_without(explanation, set(top))]
        variants += [_without(explanation, set(rng.sample(words, k))) for _ in range(n_random)]
        scores = [d.cats[label] for d in nlp.pipe(variants)]
        drops_top.append(doc.cats[label] - scores[0])
        drops_random.append(doc.cats[label] - float(numpy.mean(scores[1:])))
    top_arr, random_arr = numpy.asarray(drops_top), numpy.asarray(drops_random)
    return {
        "n": float(len(drops_top)),
        "drop_top": float(top_arr.mean()) if len(top_arr) else 0.0,
        "drop_random": float(random_arr.mean()) if len(random_arr) else 0.0,
        "share_top_larger": float((top_arr > random_arr).mean()) if len(top_arr) else 0.0,
    }


def top_tokens(target: Target, tokens: Sequence[str], k: int = 5) -> list[tuple[str, float]]:
    """The k tokens with the largest attributions (most positive first).

    target (Target): An explained output.
    tokens (Sequence[str]): The explanation's tokens.
    k (int): How many.
    RETURNS (List[Tuple[str, float]]): (token, attribution) pairs.
    """
    order = sorted(range(len(target.attributions)), key=lambda i: -target.attributions[i])
    return [(tokens[i], target.attributions[i]) for i in order[:k]]
