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


def pooled_classifier_parts(model: Model) -> Optional[tuple[Model, list[str], list[Model]]]:
    """Split spaCy's `TextCatReduce` model (tok2vec >> list2ragged >> reductions >> output)
    into its tok2vec, its reductions in concatenation order, and its output layers; None
    for other architectures (their whole-doc pass is kept)."""
    if len(model.layers) < 2 or len(model.layers[0].layers) != 2 or not model.has_ref("tok2vec"):
        return None
    pooled, reduction = model.layers[0].layers
    names = [reduction.name] if reduction.name in REDUCTIONS else [
        layer.name for layer in reduction.layers]
    if not names or any(name not in REDUCTIONS for name in names):
        return None
    if [layer.name for layer in pooled.layers[-1:]] != ["list2ragged"]:
        return None
    return model.get_ref("tok2vec"), names, list(model.layers[1:])


def predict_pooled_in_segments(model: Model, doc: Doc, max_tokens: int) -> Optional[Floats2d]:
    """A `TextCatReduce` model's scores for one long doc, its tokens pooled a segment at
    a time: first/last/max/mean over segments equal the whole doc's (up to float
    rounding). None if the model is not one (see `pooled_classifier_parts`).

    RETURNS (Optional[Floats2d]): Scores, shape (1, n_labels).
    """
    parts = pooled_classifier_parts(model)
    if parts is None:
        return None
    tok2vec, names, output_layers = parts
    ops = model.ops
    first = last = maximum = total = None
    n_tokens = 0
    for _, segment in segments(doc, max_tokens):
        vectors = tok2vec.predict([segment])[0]
        first = vectors[:1] if first is None else first
        last = vectors[-1:]
        row_max = vectors.max(axis=0, keepdims=True)
        maximum = row_max if maximum is None else ops.xp.maximum(maximum, row_max)
        row_sum = vectors.sum(axis=0, keepdims=True)
        total = row_sum if total is None else total + row_sum
        n_tokens += vectors.shape[0]
    pooled = {"reduce_first": first, "reduce_last": last, "reduce_max": maximum,
              "reduce_mean": total / max(n_tokens, 1)}
    scores = ops.xp.concatenate([pooled[name] for name in names], axis=1)
    for layer in output_layers:
        scores = layer.predict(scores)
    return scores
