"""Pipelines saved by release 0.1.0 (before the package was split into layers) still load.

The fixtures were written by that release's code: a tiny joint textcat+ner pipeline and
its `quantize`d int8 copy, each with the cats and entities it predicted on one text. A
rename of a registered function, a factory or a serialized field breaks these tests.
"""

import json
from pathlib import Path

import pytest
import spacy

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("name", ["pipeline_v0_1_0", "pipeline_v0_1_0_int8"])
def test_pipeline_saved_by_0_1_0_loads_and_predicts_the_same(name):
    path = FIXTURES / name
    expected = json.loads((path / "expected.json").read_text(encoding="utf8"))
    nlp = spacy.load(path)
    doc = nlp(expected["text"])
    assert doc.cats == pytest.approx(expected["cats"], abs=1e-5)
    assert [[e.start_char, e.end_char, e.label_] for e in doc.ents] == expected["ents"]


def test_sourcing_a_0_1_0_head_keeps_its_v1_encoder(tmp_path):
    """`replace_listeners` on a 0.1.0 pipeline gives the head the v1 tok2vec form."""
    source = spacy.load(FIXTURES / "pipeline_v0_1_0")
    source.replace_listeners("transformer", "ner", ["model.tok2vec"])
    tok2vec = source.config["components"]["ner"]["model"]["tok2vec"]
    assert tok2vec["@architectures"] == "spacy-albert.AlbertTok2VecTransformer.v1"
    source.to_disk(tmp_path / "replaced")
    reloaded = spacy.load(tmp_path / "replaced")
    expected = json.loads((FIXTURES / "pipeline_v0_1_0" / "expected.json").read_text("utf8"))
    doc = reloaded(expected["text"])
    assert [[e.start_char, e.end_char, e.label_] for e in doc.ents] == expected["ents"]
