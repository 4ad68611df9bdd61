"""Entities as explained outputs: f = the probability of the NER moves that built the entity.

spaCy's transition-based NER has no per-token softmax. Each move is chosen greedily from
scores over the valid moves; training fits a softmax over them. For an entity, f is the
product, over the entity's tokens, of the softmax (over valid moves) probability of the
move taken (e.g. B-PER, L-PER), with the parse state held to the predicted one: the moves
before the entity are replayed, not re-decided.
"""

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy
from spacy.tokens import Doc
from spacy_transformers.data_classes import TransformerData

from ._thinc_adapter import parser_steps, unseen_classes
from .heads import Backprop, HeadProbe
from .targets import Target


@dataclass
class Trajectory:
    """The predicted NER moves: per step, the move's class and name, the buffer token, and
    the moves the step's softmax runs over (valid and seen in training, plus the one taken).
    """

    classes: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    valid: list[numpy.ndarray] = field(default_factory=list)


@dataclass
class EntityMoves:
    """An entity the trajectory builds: tokens [start, end), its label and its steps."""

    start: int
    end: int
    label: str
    steps: list[int]


def entities_of(trajectory: Trajectory) -> list[EntityMoves]:
    """The entities a trajectory builds (BILUO moves), in text order."""
    found = []
    start, steps = -1, []
    for step, (name, token) in enumerate(zip(trajectory.names, trajectory.tokens)):
        move, _, label = name.partition("-")
        if move == "U" and label:
            found.append(EntityMoves(token, token + 1, label, [step]))
        elif move == "B":
            start, steps = token, [step]
        elif move == "I" and start >= 0:
            steps.append(step)
        elif move == "L" and start >= 0:
            found.append(EntityMoves(start, token + 1, label, steps + [step]))
            start, steps = -1, []
    return found


def _softmax(scores: numpy.ndarray) -> numpy.ndarray:
    shifted = scores - scores.max(axis=-1, keepdims=True)
    exp = numpy.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


class EntityProbe(HeadProbe):
    """A greedy NER: one target per predicted entity, f = Π over the entity's moves of
    softmax-over-valid-moves(move taken).

    check_ents (bool): Warn if the replayed entities differ from `doc.ents` (true for the
        last NER of the pipeline, whose entities the doc holds).
    """

    def __init__(self, name: str, component: Any, doc: Doc, trf_data: TransformerData,
                 check_ents: bool = True):
        super().__init__(name, component, doc, trf_data)
        self.check_ents = check_ents
        self.trajectory = Trajectory()
        self.entities: list[EntityMoves] = []

    def plan(self, endpoints: numpy.ndarray, doc: Doc, wanted: Optional[set[str]]) -> None:
        """Decode the input's moves and choose the targets: the entities they build.

        endpoints (numpy.ndarray): Hidden states at the baseline and at the input.
        doc (Doc): The annotated doc.
        wanted (Optional[Set[str]]): Labels to explain (None: all).
        """
        if wanted is not None and not wanted & set(self.component.labels):
            return
        self.trajectory = self.decode(endpoints[1:])
        entities = entities_of(self.trajectory)
        found = {(e.start, e.end, e.label) for e in entities}
        predicted = {(e.start, e.end, e.label_) for e in doc.ents}
        if self.check_ents and found != predicted:
            warnings.warn(
                f"Replayed moves of '{self.name}' give entities {sorted(found)}, the "
                f"pipeline {sorted(predicted)}; explaining the replayed ones.", stacklevel=4
            )
        self.entities = [e for e in entities if wanted is None or e.label in wanted]
        if not self.entities:
            return
        probs, _ = self(endpoints)
        for j, entity in enumerate(self.entities):
            span = doc[entity.start:entity.end]
            self.targets.append(Target(
                kind="entity", component=self.name, label=entity.label,
                score=float(probs[1, j]), baseline_score=float(probs[0, j]),
                start=entity.start, end=entity.end, text=span.text,
                start_char=span.start_char, end_char=span.end_char,
            ))

    def decode(self, hidden: numpy.ndarray) -> Trajectory:
        """Greedy decoding (as `Parser.greedy_parse`) on one point's hidden states."""
        moves = self.component.moves
        names = [moves.get_class_name(i) for i in range(moves.n_moves)]
        seen = ~numpy.isin(numpy.arange(len(names)), list(unseen_classes(self.model)))
        docs, _ = self.feed(hidden)
        step_model, _ = parser_steps(self.model, docs)
        state = moves.init_batch(docs)[0]
        trajectory = Trajectory()
        while not state.is_final():
            scores, _ = step_model([state], is_train=False)
            valid = numpy.array([moves.is_valid(state, name) for name in names], dtype=bool)
            best = int(numpy.argmax(numpy.where(valid, scores[0], -numpy.inf)))
            trajectory.classes.append(best)
            trajectory.names.append(names[best])
            trajectory.tokens.append(int(state.B(0)))
            trajectory.valid.append((valid & seen) | (numpy.arange(len(names)) == best))
            moves.apply_transition(state, names[best])
        return trajectory

    def __call__(self, hidden: numpy.ndarray) -> tuple[numpy.ndarray, Backprop]:
        moves, trajectory = self.component.moves, self.trajectory
        docs, captured = self.feed(hidden)
        step_model, finish = parser_steps(self.model, docs)
        states = moves.init_batch(docs)
        last = max((entity.steps[-1] for entity in self.entities), default=-1)
        move_probs: dict[int, numpy.ndarray] = {}
        step_backprops: list[Callable] = []
        for step in range(last + 1):
            scores, backprop_step = step_model(states, is_train=True)
            step_backprops.append(backprop_step)
            valid = trajectory.valid[step]
            move_probs[step] = numpy.zeros(scores.shape)
            move_probs[step][:, valid] = _softmax(numpy.asarray(scores, "float64")[:, valid])
            for state in states:
                moves.apply_transition(state, trajectory.names[step])
        probs = numpy.ones((len(docs), len(self.entities)))
        for j, entity in enumerate(self.entities):
            for step in entity.steps:
                probs[:, j] *= move_probs[step][:, trajectory.classes[step]]

        def backprop(d_probs: numpy.ndarray) -> numpy.ndarray:
            for j, entity in enumerate(self.entities):
                if not d_probs[:, j].any():
                    continue
                for step in entity.steps:
                    taken = numpy.arange(move_probs[step].shape[1]) == trajectory.classes[step]
                    # d Π_t p_t(a_t) / d s_t = f · (onehot(a_t) − p_t) on the valid moves.
                    d_scores = (d_probs[:, j] * probs[:, j])[:, None] * (taken - move_probs[step])
                    d_scores[:, ~trajectory.valid[step]] = 0.0
                    step_backprops[step](numpy.ascontiguousarray(d_scores, dtype="float32"))
            finish(None)
            return self.gradient(captured)

        return probs, backprop
