"""The HF loop's parameter averages are thinc's (fairness: the same trick on both sides)."""

import numpy
import torch
from thinc.api import NumpyOps
from transformers import AlbertConfig, AlbertForSequenceClassification

from bench.hf_training import HFLoop, LoopSettings, ParameterAverages

CONFIG = dict(vocab_size=50, embedding_size=16, hidden_size=32, num_hidden_layers=2,
              num_attention_heads=2, intermediate_size=64, num_labels=2)


def test_averages_follow_thincs_update_and_skip_parameters_without_gradient() -> None:
    model = torch.nn.ModuleDict({"used": torch.nn.Linear(3, 2), "unused": torch.nn.Linear(3, 2)})
    unused_before = model["unused"].weight.detach().clone()
    averages = ParameterAverages(model)
    used = list(model["used"].parameters())
    expected = [numpy.zeros(tuple(weight.shape), dtype="float32") for weight in used]
    generator = torch.Generator().manual_seed(0)
    for step in range(1, 6):
        with torch.no_grad():
            for weight in used:
                weight.copy_(torch.randn(weight.shape, generator=generator))
                weight.grad = torch.ones_like(weight)
        averages.update()
        for weight, reference in zip(used, expected):
            NumpyOps().update_averages(reference, weight.detach().numpy(), step)
    last = [weight.detach().clone() for weight in used]
    averages.copy_to_model()
    for weight, reference, final in zip(used, expected, last):
        numpy.testing.assert_allclose(weight.detach().numpy(), reference, rtol=1e-6, atol=1e-7)
        assert not torch.allclose(weight, final)
    assert torch.equal(model["unused"].weight, unused_before)


def test_the_loop_ends_on_the_averaged_weights() -> None:
    torch.manual_seed(0)
    model = AlbertForSequenceClassification(AlbertConfig(**CONFIG))
    loop = HFLoop(model, 6, LoopSettings(batch_size=4, learn_rate=1e-2, use_averages=True))
    generator = torch.Generator().manual_seed(0)
    for _ in range(6):
        loop.step({"input_ids": torch.randint(5, 50, (4, 6), generator=generator),
                   "labels": torch.tensor([0, 1, 1, 0])})
    assert loop.averages is not None
    last = {name: weight.detach().clone() for name, weight in model.named_parameters()}
    loop.finish()
    assert not model.training
    ffn = "albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight"
    assert not torch.allclose(model.get_parameter(ffn), last[ffn])
    for weight, average in zip(loop.averages.parameters, loop.averages.averages):
        assert torch.equal(weight, average)
    assert all(updates == 6 for updates in loop.averages.updates)
