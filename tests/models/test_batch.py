"""Per-doc and per-segment views of the encoder output are exactly upstream's / the
whole doc's, without upstream's dict over every token."""

import numpy
import pytest
from spacy.language import Language
from spacy_transformers.data_classes import FullTransformerBatch, TransformerData

from spacy_albert.models.batch import AlbertTransformerBatch, slice_trf_data

TEXTS = {
    "en": ["Alice met Bob in Paris.", "", "A much longer text about Acme Corp. " * 60, "Hi"],
    "zh": ["华星科技在杭州发布新品。", "", "张伟在北京见了李娜。" * 60, "好"],
}


@pytest.fixture(scope="module", params=["en", "zh"])
def nlp(request: pytest.FixtureRequest) -> Language:
    return request.getfixturevalue(f"{request.param}_nlp")


def assert_same_data(ours: TransformerData, theirs: TransformerData) -> None:
    numpy.testing.assert_array_equal(ours.align.dataXd, theirs.align.dataXd)
    numpy.testing.assert_array_equal(ours.align.lengths, theirs.align.lengths)
    assert ours.wordpieces.strings == theirs.wordpieces.strings
    numpy.testing.assert_array_equal(ours.wordpieces.input_ids, theirs.wordpieces.input_ids)
    assert list(ours.model_output) == list(theirs.model_output)
    for key in ours.model_output:
        numpy.testing.assert_array_equal(ours.model_output[key], theirs.model_output[key])


def test_split_by_doc_equals_upstream(nlp: Language) -> None:
    docs = [nlp.make_doc(text) for text in TEXTS[nlp.lang]]
    batch = nlp.get_pipe("transformer").predict(docs)
    assert isinstance(batch, AlbertTransformerBatch)
    theirs = FullTransformerBatch.split_by_doc(batch)
    ours = batch.split_by_doc()
    assert len(ours) == len(theirs) == len(docs)
    for doc, our_data, their_data in zip(docs, ours, theirs):
        assert our_data.align.lengths.shape[0] == len(doc)
        assert_same_data(our_data, their_data)


def pooled(data: TransformerData) -> numpy.ndarray:
    """Mean of each token's piece vectors (what the listeners' reduce_mean gives)."""
    hidden = data.model_output["last_hidden_state"].reshape(-1, data.width)
    rows, start = [], 0
    for length in data.align.lengths:
        rows.append(hidden[data.align.dataXd[start : start + length]].mean(axis=0)
                    if length else numpy.zeros(data.width, dtype="f"))
        start += length
    return numpy.stack(rows)


def test_a_slice_pools_to_the_whole_docs_vectors(nlp: Language) -> None:
    doc = nlp.get_pipe("transformer")(nlp.make_doc(TEXTS[nlp.lang][2]))
    data = doc._.trf_data
    assert data.wordpieces.input_ids.shape[0] > 3  # several strided windows
    whole = pooled(data)
    for start, end in [(0, 5), (7, len(doc) // 2), (len(doc) // 3, len(doc)), (4, 5)]:
        part = slice_trf_data(data, start, end)
        assert part.wordpieces.input_ids.shape[0] < data.wordpieces.input_ids.shape[0]
        numpy.testing.assert_array_equal(pooled(part), whole[start:end])


def test_first_doc_keeps_views_of_the_batch(nlp: Language) -> None:
    """The first (or only) doc's alignment is not copied: a 1M-piece doc's is 5 MiB."""
    docs = [nlp.make_doc(text) for text in TEXTS[nlp.lang]]
    batch = nlp.get_pipe("transformer").predict(docs)
    first, later = batch.split_by_doc()[0], batch.split_by_doc()[2]
    assert numpy.shares_memory(first.align.dataXd, batch.align.dataXd)
    assert not numpy.shares_memory(later.align.dataXd, batch.align.dataXd)
