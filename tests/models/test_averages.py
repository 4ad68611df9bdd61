"""`use_averages = true` reaches the encoder: thinc keeps a shim's averages under
(shim id, parameter name), which the ALBERT shim reads inside `nlp.use_params`."""

from pathlib import Path

import spacy
import torch
from spacy.tokens import DocBin
from spacy.training import Example
from thinc.api import Adam

from spacy_albert.models.loading import AlbertShim


def albert_shim(nlp: spacy.language.Language) -> AlbertShim:
    """The shim that holds the pipeline's ALBERT encoder."""
    return next(shim for node in nlp.get_pipe("transformer").model.walk()
                for shim in node.shims if isinstance(shim, AlbertShim))


def test_optimizer_averages_replace_the_encoder_weights_inside_use_params(
        en_pipeline_dir: Path, en_docbins: dict[str, Path]) -> None:
    nlp = spacy.load(en_pipeline_dir)
    golds = list(DocBin().from_disk(en_docbins["train"]).get_docs(nlp.vocab))[:16]
    examples = [Example(nlp.make_doc(gold.text), gold) for gold in golds]
    optimizer = Adam(learn_rate=1e-3, use_averages=True)
    for _ in range(3):
        nlp.update(examples, sgd=optimizer)
    shim = albert_shim(nlp)
    weights = dict(shim._model.named_parameters())
    averaged = {name: torch.from_numpy(optimizer.averages[(shim.id, name)])
                for name in weights if (shim.id, name) in optimizer.averages}
    # The pipeline never reads the pooler, so it gets no gradient, no update and no average.
    assert set(averaged) == {name for name in weights if not name.startswith("pooler.")}
    last = {name: weight.detach().clone() for name, weight in weights.items()}
    assert any(not torch.allclose(last[name], average) for name, average in averaged.items())
    texts = [gold.text for gold in golds[:4]]
    cats_last = [doc.cats for doc in nlp.pipe(texts)]
    with nlp.use_params(optimizer.averages):
        for name, average in averaged.items():
            assert torch.equal(weights[name].detach(), average), name
        cats_averaged = [doc.cats for doc in nlp.pipe(texts)]
    for name, weight in weights.items():
        assert torch.equal(weight.detach(), last[name]), name
    assert cats_averaged != cats_last
    assert [doc.cats for doc in nlp.pipe(texts)] == cats_last


def test_string_keyed_params_still_go_through_pytorch_shims_own_path(
        en_pipeline_dir: Path) -> None:
    nlp = spacy.load(en_pipeline_dir)
    shim = albert_shim(nlp)
    name, weight = next(iter(shim._model.named_parameters()))
    before = weight.detach().clone()
    params = {f"pytorch_{shim.id}_{key}": value.detach().numpy() * 0
              for key, value in shim._model.state_dict().items()}
    with shim.use_params(params):
        assert not weight.detach().abs().sum()
    assert torch.equal(dict(shim._model.named_parameters())[name].detach(), before)
