"""Every registered name resolves through the installed package's entry points."""

from importlib.metadata import entry_points

import pytest
from spacy.util import registry

GROUPS = {
    "spacy_factories": "factories",
    "spacy_architectures": "architectures",
    "spacy_scorers": "scorers",
    "spacy_tokenizers": "tokenizers",
}


def ours(group: str):
    return [ep for ep in entry_points(group=group) if ep.value.startswith("spacy_albert.")]


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_entry_points_resolve_in_spacy_registry(group):
    eps = ours(group)
    assert eps, f"no spacy_albert entry points in {group}"
    for ep in eps:
        assert registry.has(GROUPS[group], ep.name), ep.name
        assert registry.get(GROUPS[group], ep.name) is ep.load(), ep.name


def test_expected_names_are_registered():
    names = {ep.name for group in GROUPS for ep in ours(group)}
    assert {
        "albert_transformer",
        "albert_textcat",
        "albert_ner",
        "albert_entity_scorer",
        "albert_calibrator",
        "spacy-albert.OnnxAlbertTransformer.v1",
        "spacy-albert.AlbertTransformer.v1",
        "spacy-albert.AlbertTok2VecTransformer.v1",
        "spacy-albert.AlbertTransformer.v2",
        "spacy-albert.AlbertTok2VecTransformer.v2",
        "spacy-albert.TextCatReduce.v1",
        "spacy-albert.PieceListener.v1",
        "spacy-albert.AlbertPieceTok2VecTransformer.v1",
        "spacy-albert.textcat_scorer.v1",
        "spacy-albert.LanguageDefaultTokenizer.v1",
    } <= names
