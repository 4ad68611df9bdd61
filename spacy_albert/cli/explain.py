"""`python -m spacy_albert explain`: which tokens drive a pipeline's categories and entities."""

from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from ._app import app


@app.command("explain")
def explain_cli(
    pipeline: str = typer.Argument(..., help="Pipeline directory or installed package name."),
    text: str = typer.Argument(..., help="The text to explain."),
    label: Optional[list[str]] = typer.Option(
        None, "--label", "-l",
        help="Explain only this text category or entity label (repeat for several; "
        "default: every category and every predicted entity).",
    ),
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", dir_okay=False, help="Write an HTML page (displaCy style) here."
    ),
    json_path: Optional[Path] = typer.Option(
        None, "--json", dir_okay=False, help="Write the attributions as JSON here."
    ),
    steps: int = typer.Option(
        32, "--steps", min=1, help="Integration steps (more: smaller completeness error)."
    ),
    baseline: str = typer.Option(
        "pad", "--baseline", help="Baseline input: pad ([PAD] pieces) or zero (zero vectors)."
    ),
    top: int = typer.Option(5, "--top", min=0, help="Tokens to list per label in the console."),
) -> None:
    """Explain TEXT's predicted categories and entities with integrated gradients.

    Each token gets an attribution per text category (its probability) and per
    predicted entity (the probability of the NER moves that built it): positive raises
    the score, negative lowers it, and the attributions add up to score − baseline
    score. The console lists the strongest tokens; --out writes an HTML page with the
    tokens shaded blue (raises) / red (lowers), one section per label; --json writes
    the numbers. Runs on the CPU.
    """
    import spacy

    from ..explain import BASELINES, explain

    if baseline not in BASELINES:
        msg.fail(f"--baseline must be one of {', '.join(BASELINES)}", exits=1)
    nlp = spacy.load(pipeline)
    try:
        explanation = explain(nlp, text, labels=label or None, n_steps=steps, baseline=baseline)
    except ValueError as err:
        msg.fail("Cannot explain", str(err), exits=1)
    if not explanation.targets:
        msg.warn("Nothing to explain: no text categories or entities for these labels.")
    for target in explanation.targets:
        msg.divider(target.title)
        msg.text(
            f"score {target.score:.4f}, baseline {target.baseline_score:.4f}, "
            f"sum of attributions {sum(target.attributions):+.4f} "
            f"(completeness error {target.delta:+.1e})"
        )
        if not target.is_complete():
            change = abs(target.score - target.baseline_score)
            msg.warn(
                f"The attributions miss score − baseline by {abs(target.delta) / change:.0%}: "
                f"use more --steps (e.g. {steps * 4}) for a faithful sum."
            )
        rows = [(explanation.tokens[i], i, f"{target.attributions[i]:+.4f}")
                for i in target.strongest(top)]
        if rows:
            msg.table(rows, header=("token", "position", "attribution"), divider=True)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(explanation.to_html(), encoding="utf8")
        msg.good(f"Wrote the HTML page to {out}")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        explanation.to_json(json_path)
        msg.good(f"Wrote the attributions to {json_path}")
