"""The Typer app that every `python -m spacy_albert` command registers itself on."""

import typer

app = typer.Typer(
    name="spacy-albert",
    help="ALBERT for spaCy: build models offline, convert data, train, evaluate and annotate.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """ALBERT for spaCy: build models offline, convert data, train, evaluate and annotate."""
