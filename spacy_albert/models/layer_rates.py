"""Layer-wise learning-rate decay: a pretrained encoder's lower layers step more gently.

ELECTRA's fine-tuning recipe (Clark et al., 2020): a weight at depth d of an encoder whose
heads sit at depth T steps at `decay ** (T - d)` times the rate. Depths count ALBERT's
layer groups, not its layers, because a group's weights serve every layer in it: a
converted BERT (one group per layer) gets the usual ladder, ALBERT-base (one shared
group) just embeddings below the group.
"""

import re

_GROUP = re.compile(r"albert_layer_groups\.(\d+)\.")
# The embeddings and ALBERT's projection from the embedding to the hidden size.
_EMBEDDING_PARTS = ("embeddings.", "embedding_hidden_mapping_in.")


def parameter_depth(name: str, n_groups: int) -> int:
    """0 for the embeddings, g + 1 for layer group g, n_groups + 1 for what lies above
    the groups (the pooler, a classifier).

    name (str): A parameter name of `AlbertModel` or of a model holding one
        (`albert.encoder.albert_layer_groups.0.…`, `classifier.weight`).
    n_groups (int): The model's `num_hidden_groups`.
    """
    group = _GROUP.search(name)
    if group is not None:
        return int(group.group(1)) + 1
    if any(part in name for part in _EMBEDDING_PARTS):
        return 0
    return n_groups + 1


def layer_lr_scale(name: str, n_groups: int, decay: float) -> float:
    """The factor on the rate of parameter `name`: 1 above the groups, `decay` for the top
    group, `decay ** (n_groups + 1)` for the embeddings; all 1 when `decay` is 1."""
    return decay ** (n_groups + 1 - parameter_depth(name, n_groups))
