"""The HF loop's length groups (fairness rule 5: the trick spacy-albert trains with) give
the whole batch's loss and gradients, in encoder calls of the joint pipeline's rows."""

import torch
from transformers import AlbertConfig, AlbertForSequenceClassification, AlbertForTokenClassification

from bench.hf_training import length_grouped
from bench.training import hf_length_groups

CONFIG = dict(vocab_size=50, embedding_size=16, hidden_size=32, num_hidden_layers=2,
              num_attention_heads=2, intermediate_size=64, hidden_dropout_prob=0.0,
              attention_probs_dropout_prob=0.0, classifier_dropout_prob=0.0, num_labels=3)


def batch(labels: torch.Tensor) -> dict[str, torch.Tensor]:
    lengths = torch.tensor([3, 9, 5, 12, 2, 7])
    mask = (torch.arange(12)[None, :] < lengths[:, None]).long()
    ids = torch.randint(5, 50, (6, 12), generator=torch.Generator().manual_seed(0)) * mask
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def loss_and_grads(model: torch.nn.Module, inputs: dict, n_groups: int) -> tuple:
    model.zero_grad()
    loss = 0.0
    for group, weight in length_grouped(inputs, n_groups):
        group_loss = model(**group).loss * weight
        group_loss.backward()
        loss += float(group_loss)
    return loss, {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_groups_give_the_batch_loss_and_gradients() -> None:
    torch.manual_seed(0)
    token_labels = torch.randint(0, 3, (6, 12))
    token_labels[:, 0] = -100
    token_labels[batch(token_labels)["attention_mask"] == 0] = -100
    cases = [(AlbertForTokenClassification(AlbertConfig(**CONFIG)), batch(token_labels)),
             (AlbertForSequenceClassification(AlbertConfig(**CONFIG)),
              batch(torch.tensor([0, 2, 1, 1, 0, 2])))]
    for model, inputs in cases:
        groups = length_grouped(inputs, 2)
        assert len(groups) == 2
        assert groups[0][0]["input_ids"].shape[1] < inputs["input_ids"].shape[1]
        loss, grads = loss_and_grads(model, inputs, 1)
        grouped_loss, grouped_grads = loss_and_grads(model, inputs, 2)
        assert abs(grouped_loss - loss) < 1e-5
        for name, grad in grads.items():
            torch.testing.assert_close(grouped_grads[name], grad, rtol=1e-4, atol=1e-6,
                                       msg=name)


def test_both_sides_make_encoder_calls_of_the_same_rows() -> None:
    """Fairness rule 5: the joint batch (both tasks, 2 × batch rows) in n groups; each HF
    model's batch (one task, batch rows) in half as many, so a call has as many rows."""
    batch_rows = 32
    for joint_groups in (2, 4, 6):
        hf_groups = hf_length_groups(joint_groups)
        assert 2 * batch_rows / joint_groups == batch_rows / hf_groups
        assert 2 * hf_groups == joint_groups  # the same calls per step
    assert hf_length_groups(1) == 1
