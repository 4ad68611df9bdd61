"""The HTML page: every token, every target, escaped, in page and fragment form."""

import html

import pytest

from spacy_albert.explain import Explanation, explain, render_html


@pytest.mark.usefixtures("one_torch_thread")
def test_html_has_every_token_and_label(en_nlp):
    text = 'Fans in Lisbon loved the "excellent" match & coach Daniel Ortiz <praised> it.'
    explanation = explain(en_nlp, text, n_steps=8)
    page = render_html(explanation)
    assert page.startswith("<!DOCTYPE html>") and "</html>" in page
    for token in explanation.tokens:
        assert f">{html.escape(token)}</span>" in page
    for target in explanation.targets:
        assert f'data-label="{html.escape(target.label)}"' in page
        assert html.escape(target.title) in page
    assert page.count('<section class="target"') == len(explanation.targets)
    assert "raises the score" in page and "lowers the score" in page
    assert "<praised>" not in page
    fragment = explanation.to_html(page=False)
    assert "<html" not in fragment and "<style>" in fragment


def test_nothing_to_explain():
    page = render_html(Explanation("", [], []))
    assert "Nothing to explain" in page and page.count("<section") == 0
