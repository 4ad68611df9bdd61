"""Shared by the explanation tests: the demo text, the dev texts, one PyTorch thread."""

import json

import pytest
import torch

from tests.conftest import CORPUS

TEXT = "The speech by Minister Marcus Thorne in Cork was a complete disaster."
DEV = [json.loads(line) for line in (CORPUS / "en" / "dev.jsonl").open(encoding="utf8")]


@pytest.fixture(scope="module")
def one_torch_thread(en_nlp):
    """One PyTorch thread: on a shared 2-core machine that is ~30x faster for a tiny model.

    Depends on `en_nlp` so that the session's training has already run with the default.
    Modules that explain the trained pipeline use it with `pytest.mark.usefixtures`.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
