"""The pooling probe: each pooling of the pipeline's own encoder output, and its scoring."""

import numpy

from bench.pooling_probe import POOLINGS, pooled_vectors, probe


def test_each_pooling_reads_the_pipelines_encoder(en_model_dir):
    texts = ["Great fun in Lisbon.", "An awful, awful mess."]
    by_split = pooled_vectors(en_model_dir, {"train": texts, "dev": texts[:1]})
    assert set(by_split) == {"train", "dev"}
    for name, rows in by_split["dev"].items():  # one encoder for both splits: same vectors
        numpy.testing.assert_allclose(rows, by_split["train"][name][:1], rtol=1e-5, atol=1e-6)
    vectors = by_split["train"]
    assert set(vectors) == set(POOLINGS)
    widths = {rows.shape for rows in vectors.values()}
    assert len(widths) == 1 and widths.pop()[0] == len(texts)
    # The token mean leaves out [CLS]/[SEP] and weighs tokens, not pieces: not the piece mean.
    assert not numpy.allclose(vectors["token_mean"], vectors["piece_mean"])
    assert not numpy.allclose(vectors["cls"], vectors["cls_pooler"])
    assert numpy.abs(vectors["cls_pooler"]).max() <= 1.0  # tanh


def test_probe_scores_every_pooling_at_every_c():
    rng = numpy.random.default_rng(0)
    labels = numpy.arange(40) % 2
    separable = rng.normal(size=(40, 8)) + labels[:, None] * 4.0
    noise = rng.normal(size=(40, 8))
    train = {name: separable if name == "piece_mean" else noise for name in POOLINGS}
    scores = probe(train, labels, train, labels)
    assert set(scores) == set(POOLINGS)
    assert all(len(by_c) == 3 for by_c in scores.values())
    assert min(scores["piece_mean"].values()) == 100.0
