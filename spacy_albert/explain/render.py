"""Explanations as HTML in displaCy's look: tokens shaded by attribution, one section per target."""

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .targets import Explanation, Target

_FONT = '-apple-system, BlinkMacSystemFont, "Segoe UI", Helvetica, Arial, sans-serif, ' \
        '"Apple Color Emoji", "Segoe UI Emoji", "Segoe UI Symbol"'
_POSITIVE = (37, 99, 235)
_NEGATIVE = (220, 38, 38)

_CSS = f"""
body {{ font-family: {_FONT}; margin: 2em; color: #222; background: #fff; }}
h1 {{ font-size: 1.3em; margin-bottom: 0.2em; }}
h2 {{ font-size: 1.05em; margin: 1.6em 0 0.2em 0; }}
.meta {{ color: #666; font-size: 0.85em; margin: 0.2em 0 0.6em 0; }}
.entities {{ line-height: 2.5; direction: ltr; font-size: 16px; }}
.tok {{ padding: 0.25em 0.15em; border-radius: 0.35em; line-height: 1; }}
mark.ent {{ background: none; padding: 0.3em 0.3em; margin: 0 0.15em; line-height: 1;
  border-radius: 0.35em; border: 2px solid #7aecec; }}
.ent-label {{ font-size: 0.8em; font-weight: bold; line-height: 1; border-radius: 0.35em;
  text-transform: uppercase; vertical-align: middle; margin-left: 0.5rem; }}
.legend {{ display: flex; align-items: center; gap: 0.6em; font-size: 0.85em; color: #444; }}
.bar {{ width: 14em; height: 0.9em; border-radius: 0.3em; border: 1px solid #ddd;
  background: linear-gradient(to right, rgb{_NEGATIVE}, #fff, rgb{_POSITIVE}); }}
table.top {{ border-collapse: collapse; font-size: 0.85em; margin-top: 0.3em; }}
table.top td {{ padding: 0.1em 0.8em 0.1em 0; }}
"""


def _shade(value: float, scale: float) -> str:
    if scale <= 0 or value == 0:
        return "transparent"
    alpha = min(1.0, abs(value) / scale) * 0.85
    r, g, b = _POSITIVE if value > 0 else _NEGATIVE
    return f"rgba({r}, {g}, {b}, {alpha:.3f})"


def _section(explanation: "Explanation", target: "Target") -> str:
    values = target.attributions
    scale = max((abs(v) for v in values), default=0.0)
    parts = []
    for i, (token, ws) in enumerate(zip(explanation.tokens, explanation.whitespace)):
        value = values[i] if i < len(values) else 0.0
        style = f"background: {_shade(value, scale)}"
        if scale and abs(value) / scale > 0.6:
            style += "; color: #fff"
        span = (f'<span class="tok" style="{style}" title="{html.escape(token)}: '
                f'{value:+.4g}">{html.escape(token)}</span>')
        if target.kind == "entity" and i == target.start:
            parts.append('<mark class="ent">')
        parts.append(span)
        if target.kind == "entity" and target.end is not None and i == target.end - 1:
            parts.append(f'<span class="ent-label">{html.escape(target.label)}</span></mark>')
        parts.append(html.escape(ws))
    if target.kind == "entity":
        what = (f"probability of the moves that built this entity: {target.score:.4f} "
                f"(baseline {target.baseline_score:.4f})")
    else:
        flag = "predicted" if target.predicted else "not predicted"
        what = (f"probability {target.score:.4f} (baseline {target.baseline_score:.4f}), "
                f"{flag}")
    meta = (f"{what}; sum of attributions {sum(values):+.4f}, "
            f"completeness error {target.delta:+.2e}")
    rows = "".join(
        f"<tr><td>{html.escape(explanation.tokens[i])}</td><td>{values[i]:+.4f}</td></tr>"
        for i in target.strongest(5) if values[i] != 0
    )
    return (
        f'<section class="target" data-kind="{target.kind}" '
        f'data-label="{html.escape(target.label)}">\n'
        f"<h2>{html.escape(target.title)}</h2>\n"
        f'<div class="meta">{html.escape(meta)}</div>\n'
        f'<div class="entities">{"".join(parts)}</div>\n'
        f'<table class="top">{rows}</table>\n</section>'
    )


def render_html(explanation: "Explanation", page: bool = True) -> str:
    """Tokens shaded by attribution (blue raises the score, red lowers it), one section per
    target, a legend, and each token's exact value on hover.

    explanation (Explanation): What to render.
    page (bool): A full HTML page (True) or a fragment to embed (False).
    RETURNS (str): The HTML.
    """
    legend = (
        '<div class="legend"><span>lowers the score</span><span class="bar"></span>'
        "<span>raises the score</span><span>· shading is relative to the largest |value| "
        "in each section; hover a token for its value</span></div>"
    )
    intro = (
        f"<h1>Why the pipeline predicts what it predicts</h1>\n"
        f'<div class="meta">Integrated gradients in ALBERT\'s word-embedding space, '
        f"{explanation.n_steps} steps, baseline: "
        f"{'[PAD] pieces' if explanation.baseline == 'pad' else 'zero embeddings'}. "
        f"Attributions add up to score − baseline score.</div>\n{legend}"
    )
    sections = "\n".join(_section(explanation, t) for t in explanation.targets)
    if not explanation.targets:
        sections = '<p class="meta">Nothing to explain (no labels or entities).</p>'
    body = f'<div class="spacy-albert-explain">\n{intro}\n{sections}\n</div>'
    if not page:
        return f"<style>{_CSS}</style>\n{body}"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>spacy-albert explain</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )

