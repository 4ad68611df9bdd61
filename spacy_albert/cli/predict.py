"""`python -m spacy_albert predict`: show what a pipeline makes of a few texts."""

from pathlib import Path

import spacy
import typer
from wasabi import msg

from ._app import app


@app.command("predict")
def predict_cli(
    pipeline: Path = typer.Argument(..., exists=True, file_okay=False,
                                    help="A trained pipeline directory."),
    texts: list[str] = typer.Argument(..., help="One or more texts to annotate."),
) -> None:
    """Run the pipeline on TEXTS and print each doc's categories and entities."""
    nlp = spacy.load(pipeline)
    for doc in nlp.pipe(texts):
        msg.divider(doc.text[:80])
        if doc.cats:
            rows = sorted(doc.cats.items(), key=lambda item: -item[1])
            msg.table([(label, f"{score:.3f}") for label, score in rows],
                      header=("category", "score"))
        ents = [(ent.text, ent.label_, ent.start_char, ent.end_char) for ent in doc.ents]
        if ents:
            msg.table(ents, header=("entity", "label", "start", "end"))
        else:
            msg.text("no entities")
