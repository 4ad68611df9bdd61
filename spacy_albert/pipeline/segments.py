"""Long docs through the heads a segment at a time, in memory bounded by the segment.

The encoder runs once over the whole doc (strided windows) and keeps its output in
`doc._.trf_data`. A head given the whole doc at once allocates per-token arrays for all of
it: spaCy's `ner` precomputes ~1.5 KB of features per token (1.5 GB for a 1M-character
Chinese doc), and every listener gathers the pieces of every token before pooling. So the
heads read a doc longer than their `max_tokens_per_pass` as consecutive segments: each
one a small Doc over a token range, carrying the matching slice of the encoder output
(`slice_trf_data`), so every token pools to exactly the vector the whole doc gives it.

Segments end at a sentence end where one lies in the segment's second half (the doc's
sentence boundaries if set, else a whitespace token such as a line break, or
sentence-final punctuation), so an entity is cut only where a text has no sentence end
for thousands of tokens.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Optional, TypeVar

from spacy.attrs import ENT_ID, ENT_IOB, ENT_KB_ID, ENT_TYPE, SENT_START
from spacy.tokens import Doc
from thinc.api import Model
from thinc.types import Floats2d

from ..models.batch import doc_trf_data, slice_trf_data
from ..models.memory import release_freed_heap
from ..models.neighbours import sentence_ends

# Annotation copied into segments when the doc has it (entities only when asked: the
# whole doc's entity array is 32 MB per 1M tokens): (has_annotation name, attrs).
SENTENCE_ATTRS = ("SENT_START", [SENT_START])
ENTITY_ATTRS = ("ENT_IOB", [ENT_IOB, ENT_TYPE, ENT_KB_ID, ENT_ID])
# Tokens per head pass over a long doc. spaCy's `ner` needs ~2.5 KB per token at hidden
# width 64 (25 MB per segment); a listener's gather and pooling ~1 KB.
DEFAULT_MAX_TOKENS_PER_PASS = 10_000


def checked_max_tokens(component: str, max_tokens: int) -> int:
    """The `max_tokens_per_pass` setting, refused with the component's name unless ≥ 1."""
    if max_tokens < 1:
        raise ValueError(f"[{component}] max_tokens_per_pass must be at least 1, "
                         f"got {max_tokens}")
    return max_tokens


Result = TypeVar("Result")


def results_per_doc(
    docs: Sequence[Doc], max_tokens: float, whole: Callable[[list[Doc]], Iterable[Result]],
    segmented: Callable[[Doc], Result],
) -> list[Result]:
    """One result per doc, in order: the docs of at most `max_tokens` tokens through one
    `whole` call (a batch, as the head runs it), each longer doc through `segmented`.

    docs (Sequence[Doc]): The docs.
    max_tokens (float): The longest doc `whole` gets.
    whole (Callable): A batch of docs -> one result per doc.
    segmented (Callable): One long doc -> its result.
    RETURNS (list): The results, in the order of the docs.
    """
    fitting = [doc for doc in docs if len(doc) <= max_tokens]
    batched = iter(whole(fitting) if fitting else [])
    return [next(batched) if len(doc) <= max_tokens else segmented(doc) for doc in docs]


def segment_bounds(doc: Doc, max_tokens: int) -> list[tuple[int, int]]:
    """Consecutive token ranges covering the doc, each at most max_tokens long.

    doc (Doc): The doc.
    max_tokens (int): Longest segment (≥ 1).
    RETURNS (list[tuple[int, int]]): (start, end) pairs; one pair if the doc fits.
    """
    checked_max_tokens("segments", max_tokens)
    ends = sentence_ends(doc)
    bounds = []
    start = 0
    while len(doc) - start > max_tokens:
        end = start + max_tokens
        earliest = start + max(1, max_tokens // 2)
        cuts = (i + 1 for i in range(end - 1, earliest - 1, -1) if ends[i])
        cut = next(cuts, end)
        bounds.append((start, cut))
        start = cut
    bounds.append((start, len(doc)))
    return bounds


def segments(doc: Doc, max_tokens: int, *, entities: bool = False
             ) -> Iterator[tuple[int, Doc]]:
    """The doc as segment docs with their slice of `doc._.trf_data`, one at a time.

    A segment has the doc's words, spaces and sentence starts, and its entity annotation
    if asked (what a head reads besides the encoder output). Not `Span.as_doc`, which
    converts the whole doc to an array for every segment (quadratic in the doc's length).

    doc (Doc): A doc the encoder has annotated (or not: then segments carry no output and
        a head's own encoder runs on them).
    max_tokens (int): Longest segment.
    entities (bool): Copy entity annotation (preset entities a `ner` must keep).
    YIELDS (tuple[int, Doc]): The segment's first token in the doc, and the segment.
    """
    data = doc_trf_data(doc)
    copied = (SENTENCE_ATTRS, ENTITY_ATTRS) if entities else (SENTENCE_ATTRS,)
    attrs = [attr for name, attrs in copied if doc.has_annotation(name) for attr in attrs]
    array = doc.to_array(attrs) if attrs else None
    for start, end in segment_bounds(doc, max_tokens):
        span = doc[start:end]
        segment = Doc(doc.vocab, words=[token.text for token in span],
                      spaces=[bool(token.whitespace_) for token in span])
        if array is not None:
            rows = array[start:end].copy()
            if ENT_IOB in attrs and rows[0, attrs.index(ENT_IOB)] == 1:
                rows[0, attrs.index(ENT_IOB)] = 3  # an entity cut by the segment start
            segment.from_array(attrs, rows)
        if data is not None:
            segment._.trf_data = slice_trf_data(data, start, end)
        yield start, segment
        # A head's per-segment work frees many small objects; without this glibc keeps
        # them (~17 MiB after a 1M-token doc's ner) on top of the encoder output.
        release_freed_heap()


REDUCTIONS = ("reduce_first", "reduce_last", "reduce_max", "reduce_mean")
# thinc's `softmax_sequences`, which normalises the attention layer's weights, clips the
# logits to this and exponentiates them as they are (no max subtracted); segments do the same.
SOFTMAX_LOGIT_CLIP = 20.0

# A segment's token vectors -> its pooling statistics; two segments' statistics -> theirs
# combined; the whole doc's statistics -> its pooled row.
Statistics = dict[str, Floats2d]


@dataclass(frozen=True)
class PooledClassifier:
    """A text classifier split where it pools a doc's token vectors into one row.

    tok2vec (Model): Docs -> token vectors.
    statistics (Callable): A segment's token vectors -> what pooling needs of them.
    combine (Callable): Two consecutive segments' statistics -> those of both.
    pooled (Callable): A doc's statistics -> its pooled row, shape (1, width).
    after_pooling (list[Model]): The layers from the pooled rows to the scores.
    width (Optional[int]): A pooled row's width (None before the model is initialised).
    """

    tok2vec: Model
    statistics: Callable[[Floats2d], Statistics]
    combine: Callable[[Statistics, Statistics], Statistics]
    pooled: Callable[[Statistics], Floats2d]
    after_pooling: list[Model]
    width: Optional[int]

    def scores(self, pooled: Floats2d) -> Floats2d:
        return predict_through(self.after_pooling, pooled)


def predict_through(layers: Sequence[Model], rows: Floats2d) -> Floats2d:
    """The rows through the layers in turn."""
    for layer in layers:
        rows = layer.predict(rows)
    return rows


def pooled_classifier(model: Model) -> Optional[PooledClassifier]:
    """spaCy's `TextCatReduce` or `TextCatParametricAttention` model split where it pools;
    None for other architectures (their whole-doc pass is kept)."""
    return _reduce_classifier(model) or _attention_classifier(model)


def _reduce_classifier(model: Model) -> Optional[PooledClassifier]:
    """`TextCatReduce`: tok2vec >> list2ragged >> reductions >> output layers.

    Its reductions are concatenated in config order; each one's statistics (first and last
    row, maximum, sum and count) combine exactly over segments.
    """
    if len(model.layers) < 2 or len(model.layers[0].layers) != 2 or not model.has_ref("tok2vec"):
        return None
    pooling, reduction = model.layers[0].layers
    names = [reduction.name] if reduction.name in REDUCTIONS else [
        layer.name for layer in reduction.layers]
    if not names or any(name not in REDUCTIONS for name in names):
        return None
    if [layer.name for layer in pooling.layers[-1:]] != ["list2ragged"]:
        return None
    if any(node.name == "trfs2pieces" for node in model.get_ref("tok2vec").walk()):
        return None  # rows are pieces of windows, which a token range does not slice
    xp = model.ops.xp

    def statistics(vectors: Floats2d) -> Statistics:
        return {"first": vectors[:1], "last": vectors[-1:],
                "max": vectors.max(axis=0, keepdims=True),
                "sum": vectors.sum(axis=0, keepdims=True),
                "count": xp.asarray([[vectors.shape[0]]], dtype="f")}

    def combine(earlier: Statistics, later: Statistics) -> Statistics:
        return {"first": earlier["first"], "last": later["last"],
                "max": xp.maximum(earlier["max"], later["max"]),
                "sum": earlier["sum"] + later["sum"],
                "count": earlier["count"] + later["count"]}

    def pooled(stats: Statistics) -> Floats2d:
        rows = {"reduce_first": stats["first"], "reduce_last": stats["last"],
                "reduce_max": stats["max"],
                "reduce_mean": stats["sum"] / xp.maximum(stats["count"], 1)}
        return xp.concatenate([rows[name] for name in names], axis=1)

    return PooledClassifier(model.get_ref("tok2vec"), statistics, combine, pooled,
                            list(model.layers[1:]), output_layer_input(model)[1])


def output_layer_input(model: Model) -> tuple[Optional[Model], Optional[int]]:
    """A textcat model's `output_layer` ref and the width of the pooled vectors it reads
    (None where the model has no such ref or the width is not set yet)."""
    if not model.has_ref("output_layer"):
        return None, None
    output_layer = model.get_ref("output_layer")
    return output_layer, output_layer.maybe_get_dim("nI")


def _attention_classifier(model: Model) -> Optional[PooledClassifier]:
    """`TextCatParametricAttention`: (tok2vec >> list2ragged >> attention >> reduce_sum)
    >> residual layer >> output layers.

    The attention weights are a softmax over all the doc's tokens, so each segment keeps
    the sum of its tokens' exp(logit) and their weighted sum of vectors; summed over the
    segments and divided, they give the whole doc's attention-pooled row.
    """
    if not model.layers or not all(model.layers[0].has_ref(name)
                                   for name in ("tok2vec", "attention_layer", "key_transform")):
        return None
    pooling, *after_pooling = model.layers[0].layers
    if not pooling.layers or pooling.layers[-1].name != "reduce_sum" or not after_pooling:
        return None
    attention = model.layers[0].get_ref("attention_layer")
    key_transform = model.layers[0].get_ref("key_transform")
    xp = model.ops.xp

    def statistics(vectors: Floats2d) -> Statistics:
        logits = key_transform.predict(vectors) @ attention.get_param("Q").reshape(-1, 1)
        weights = xp.exp(xp.clip(logits, -SOFTMAX_LOGIT_CLIP, SOFTMAX_LOGIT_CLIP))
        return {"total": weights.sum(axis=0, keepdims=True),
                "weighted": (weights * vectors).sum(axis=0, keepdims=True)}

    def combine(earlier: Statistics, later: Statistics) -> Statistics:
        return {key: earlier[key] + later[key] for key in earlier}

    def pooled(stats: Statistics) -> Floats2d:
        return stats["weighted"] / stats["total"]

    return PooledClassifier(model.layers[0].get_ref("tok2vec"), statistics, combine, pooled,
                            [*after_pooling, *model.layers[1:]],
                            after_pooling[0].maybe_get_dim("nI"))


def predict_pooled_in_segments(model: Model, doc: Doc, max_tokens: int) -> Optional[Floats2d]:
    """A pooling text classifier's scores for one long doc, its tokens pooled a segment at
    a time: the same scores as the whole doc's (up to float rounding). None if the model
    is not one (see `pooled_classifier`).

    RETURNS (Optional[Floats2d]): Scores, shape (1, n_labels).
    """
    head = pooled_classifier(model)
    if head is None:
        return None
    stats: Optional[Statistics] = None
    for _, segment in segments(doc, max_tokens):
        segment_stats = head.statistics(head.tok2vec.predict([segment])[0])
        stats = segment_stats if stats is None else head.combine(stats, segment_stats)
    if stats is None:  # a doc is never empty here (it is longer than max_tokens)
        raise ValueError("predict_pooled_in_segments needs a doc with at least one token")
    return head.scores(head.pooled(stats))
