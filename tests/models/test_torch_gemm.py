"""The heads' matrix products on torch give thinc's products, and the config picks them."""

from pathlib import Path

import numpy
import pytest
import spacy
from thinc.api import NumpyOps

from spacy_albert.models.torch_gemm import TorchGemmOps, use_cpu_gemm

TEXTS = ["Nora Bergman of Acme Corp flew to Paris.", "A dull, lifeless film.", "",
         "Shares of Nordvale Energy jumped after an excellent quarter, analysts said."]


@pytest.mark.parametrize("trans1", [False, True])
@pytest.mark.parametrize("trans2", [False, True])
def test_products_equal_thincs(trans1: bool, trans2: bool) -> None:
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((7, 5) if trans1 else (5, 7)).astype("f")
    y = rng.standard_normal((3, 7) if trans2 else (7, 3)).astype("f")
    expected = NumpyOps().gemm(x, y, trans1=trans1, trans2=trans2)
    ours = TorchGemmOps()
    numpy.testing.assert_allclose(ours.gemm(x, y, trans1=trans1, trans2=trans2), expected,
                                  rtol=1e-5, atol=1e-5)
    out = numpy.full((5, 3), numpy.nan, dtype="f")
    assert ours.gemm(x, y, out=out, trans1=trans1, trans2=trans2) is out
    numpy.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_read_only_inputs_multiply_and_other_dtypes_fail_as_in_thinc() -> None:
    x = numpy.arange(6, dtype="f").reshape(2, 3)
    y = numpy.arange(12, dtype="f").reshape(3, 4)
    x.flags.writeable = False  # weights deserialized from bytes are read-only
    numpy.testing.assert_allclose(TorchGemmOps().gemm(x, y), x @ y)
    assert not x.flags.writeable
    for ops in (NumpyOps(), TorchGemmOps()):
        with pytest.raises(ValueError, match="float32"):
            ops.gemm(x.astype("d"), y.astype("d"))


def test_the_config_picks_the_heads_products(en_pipeline_dir: Path) -> None:
    nlp = spacy.load(en_pipeline_dir)
    for name in ("ner", "textcat"):
        assert all(isinstance(node.ops, TorchGemmOps)
                   for node in nlp.get_pipe(name).model.walk())
    thinc = {name: {"cpu_gemm": "thinc"} for name in ("ner", "textcat")}
    nlp_thinc = spacy.load(en_pipeline_dir, config={"components": thinc})
    for name in ("ner", "textcat"):
        assert all(type(node.ops) is NumpyOps for node in nlp_thinc.get_pipe(name).model.walk())
    # Same annotations either way.
    for doc, doc_thinc in zip(nlp.pipe(TEXTS), nlp_thinc.pipe(TEXTS)):
        assert [(e.start, e.end, e.label_) for e in doc.ents] == \
            [(e.start, e.end, e.label_) for e in doc_thinc.ents]
        for label, score in doc.cats.items():
            assert score == pytest.approx(doc_thinc.cats[label], abs=1e-5)


def test_a_bad_choice_is_an_error(en_pipeline_dir: Path) -> None:
    nlp = spacy.load(en_pipeline_dir)
    with pytest.raises(ValueError, match="cpu_gemm"):
        use_cpu_gemm(nlp.get_pipe("ner").model, "blas")  # type: ignore[arg-type]
    with pytest.raises(Exception, match="cpu_gemm"):
        spacy.load(en_pipeline_dir, config={"components": {"ner": {"cpu_gemm": "blas"}}})
