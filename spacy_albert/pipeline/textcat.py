"""`albert_textcat`: spaCy's exclusive textcat that learns only from docs with gold cats.

spaCy's exclusive `textcat` treats a doc without cats as "all labels 0" and trains
toward that (its `support_missing_values` is False). A joint corpus of CoNLL (NER only)
plus SST-2 (cats only) would then teach it to predict nothing on news text. This
component masks such docs out of the loss and out of the scores; everything else —
model, softmax output, `doc.cats` — is spaCy's `textcat`.
"""

from collections.abc import Iterable
from typing import Any, Callable, Optional

from spacy.language import Language
from spacy.pipeline.textcat import DEFAULT_SINGLE_TEXTCAT_MODEL, TextCategorizer
from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import registry
from thinc.api import Model
from thinc.types import Floats1d, Floats2d

from ..models.torch_gemm import CpuGemm, use_cpu_gemm
from .segments import (
    DEFAULT_MAX_TOKENS_PER_PASS,
    checked_max_tokens,
    output_layer_input,
    pooled_classifier,
    predict_pooled_in_segments,
    predict_through,
    results_per_doc,
)

SCORER_NAME = "spacy-albert.textcat_scorer.v1"


def has_gold_cats(doc: Doc, labels: Iterable[str], *, multi_label: bool) -> bool:
    """Whether a reference doc has gold categories for a classifier's labels: the one
    rule for which docs a classifier is scored on, here (`spacy evaluate`) and in
    `spacy_albert evaluate`.

    Multi-label: a value for any of its labels is gold, 0 included (all zeros is the
    gold answer "none of these labels"). Exclusive: one of its labels must be positive;
    all-zero cats name no gold class (spaCy's `Scorer.score_cats` would take the first
    label as gold), and training rejects them (`_validate_categories`).

    doc (Doc): The reference doc.
    labels (Iterable[str]): The classifier's labels.
    multi_label (bool): Whether the classifier is multi-label.
    RETURNS (bool): Whether the doc counts for this classifier's scores.
    """
    values = [doc.cats[label] for label in labels if doc.cats.get(label) is not None]
    if multi_label:
        return bool(values)
    return any(value > 0 for value in values)


def score_exclusive_cats(examples: Iterable[Example], labels: list[str], **kwargs: Any) -> dict:
    """spaCy's exclusive cats scores over the examples that have gold cats."""
    annotated = [eg for eg in examples if has_gold_cats(eg.reference, labels, multi_label=False)]
    return Scorer.score_cats(
        annotated,
        "cats",
        labels=labels,
        multi_label=False,
        **{k: v for k, v in kwargs.items() if k not in ("multi_label", "threshold")},
    )


@registry.scorers(SCORER_NAME)
def make_albert_textcat_scorer() -> Callable:
    """Scorer for `albert_textcat`: exclusive cats, docs without gold cats skipped."""
    return score_exclusive_cats


class AlbertTextCategorizer(TextCategorizer):
    """Exclusive text classifier whose loss ignores docs (and labels) without gold, and
    which pools docs longer than `max_tokens_per_pass` a segment at a time."""

    def __init__(self, vocab: Any, model: Model, name: str = "textcat", *,
                 threshold: float, scorer: Optional[Callable] = score_exclusive_cats,
                 max_tokens_per_pass: int = DEFAULT_MAX_TOKENS_PER_PASS,
                 cpu_gemm: CpuGemm = "torch") -> None:
        super().__init__(vocab, model, name, threshold=threshold, scorer=scorer)
        self.max_tokens_per_pass = checked_max_tokens(name, max_tokens_per_pass)
        use_cpu_gemm(self.model, cpu_gemm)

    @property
    def support_missing_values(self) -> bool:
        # A label absent from a doc's gold cats is unknown, not 0.0.
        return True

    def predict(self, docs: Iterable[Doc]) -> Floats2d:
        """Score the docs; a batch without any tokens gets real scores, not zeros.

        spaCy's textcat returns all-zero scores when no doc in the batch has a token,
        so `nlp("")` had cats summing to 0 while the same doc in a batch with others
        got the model's no-token distribution. Here such a batch goes through the
        layers after pooling on zero vectors (what pooling gives a doc without tokens),
        so exclusive cats always sum to 1 and equal the doc's cats in any batch.
        """
        docs = list(docs)
        limit = self.max_tokens_per_pass
        if any(len(doc) > limit for doc in docs):
            return self._predict_long(docs)
        if not docs or any(len(doc) for doc in docs):
            return super().predict(docs)
        ops = self.model.ops
        layers, width = self._layers_after_pooling()
        if width:
            return ops.asarray(predict_through(layers, ops.alloc2f(len(docs), width)))
        return ops.alloc2f(len(docs), len(self.labels)) + 1.0 / max(len(self.labels), 1)

    def _layers_after_pooling(self) -> tuple[list[Model], Optional[int]]:
        """What turns pooled vectors into scores (for spaCy's attention head its residual
        layer too, not only the output layer), and the pooled vectors' width (None if
        unknown)."""
        head = pooled_classifier(self.model)
        if head is not None:
            return head.after_pooling, head.width
        output_layer, width = output_layer_input(self.model)
        return ([], None) if output_layer is None else ([output_layer], width)

    def _predict_long(self, docs: list[Doc]) -> Floats2d:
        """Docs longer than `max_tokens_per_pass` pooled a segment at a time (bounded
        memory, same scores); the others in one batch as usual."""
        rows = results_per_doc(docs, self.max_tokens_per_pass, self.predict,
                               self._predict_segmented)
        return self.model.ops.xp.stack(rows)

    def _predict_segmented(self, doc: Doc) -> Floats1d:
        scores = predict_pooled_in_segments(self.model, doc, self.max_tokens_per_pass)
        return (super().predict([doc]) if scores is None else scores)[0]

    def _validate_categories(self, examples: Iterable[Example]) -> None:
        for example in examples:
            own = {k: v for k, v in example.reference.cats.items() if k in self.labels}
            if own and list(own.values()).count(1.0) != 1:
                raise ValueError(
                    f"[{self.name}] exclusive categories need exactly one label at 1.0 "
                    f"among {sorted(self.labels)}; got {own} for text "
                    f"{example.reference.text[:60]!r}. Use textcat_multilabel for "
                    "multi-label data."
                )


@Language.factory(
    "albert_textcat",
    assigns=["doc.cats"],
    default_config={
        "threshold": 0.0,
        "model": DEFAULT_SINGLE_TEXTCAT_MODEL,
        "scorer": {"@scorers": SCORER_NAME},
        "max_tokens_per_pass": DEFAULT_MAX_TOKENS_PER_PASS,
        "cpu_gemm": "torch",
    },
    default_score_weights={
        "cats_score": 1.0,
        "cats_score_desc": None,
        "cats_micro_p": None,
        "cats_micro_r": None,
        "cats_micro_f": None,
        "cats_macro_p": None,
        "cats_macro_r": None,
        "cats_macro_f": None,
        "cats_macro_auc": None,
        "cats_f_per_type": None,
    },
)
def make_albert_textcat(
    nlp: Language,
    name: str,
    model: Model[list[Doc], list[Floats2d]],
    threshold: float,
    scorer: Optional[Callable],
    max_tokens_per_pass: int,
    cpu_gemm: CpuGemm,
) -> AlbertTextCategorizer:
    """Create an exclusive text classifier that tolerates docs without gold cats.

    model (Model[List[Doc], List[Floats2d]]): The text classification model, e.g.
        `spacy.TextCatReduce.v1` over a transformer listener.
    threshold (float): Unused for exclusive classes (kept for config compatibility).
    scorer (Optional[Callable]): Defaults to `spacy-albert.textcat_scorer.v1`.
    max_tokens_per_pass (int): Docs longer than this are pooled a segment of at most this
        many tokens at a time (bounded memory, same scores).
    cpu_gemm (str): The model's matrix products on CPU: "torch" or "thinc" (BLIS); see
        `models/torch_gemm.py`.
    """
    return AlbertTextCategorizer(nlp.vocab, model, name, threshold=threshold, scorer=scorer,
                                 max_tokens_per_pass=max_tokens_per_pass, cpu_gemm=cpu_gemm)
