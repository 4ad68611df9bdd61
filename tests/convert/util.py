"""What the converter tests share: the fixtures folder, a CLI runner, output helpers."""

from pathlib import Path

from spacy.tokens import Doc, DocBin
from typer.testing import CliRunner

from spacy_albert.convert.errors import blank_nlp

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()


def flat(output: str) -> str:
    """CLI output with wasabi's line wrapping undone."""
    return " ".join(output.split())


def load(path: Path, lang: str = "en") -> list[Doc]:
    """The docs of a .spacy file."""
    return list(DocBin().from_disk(path).get_docs(blank_nlp(lang).vocab))
