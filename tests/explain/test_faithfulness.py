"""The deletion check on the trained demo pipeline: attributions point at what the model uses."""

import pytest

from spacy_albert.explain import deletion_check
from tests.explain.conftest import DEV

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_faithfulness_deleting_top_tokens(en_nlp):
    """Deleting the 2 most positively attributed tokens lowers the predicted label's
    probability more than deleting 2 random tokens, on average over the dev set."""
    result = deletion_check(en_nlp, [r["text"] for r in DEV], k=2, n_steps=16, seed=0)
    assert result.n > 0.9 * len(DEV)
    assert result.n + result.skipped == len(DEV)
    assert result.drop_top > result.drop_random + 0.05, result
    assert result.share_top_larger > 0.5, result
