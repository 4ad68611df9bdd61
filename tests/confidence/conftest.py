"""Fixtures for the confidence tests: the session's joint en pipeline with an entity
scorer, its gold dev docs, and a copy calibrated through the CLI."""

from pathlib import Path

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from typer.testing import CliRunner

from spacy_albert.cli import app
from spacy_albert.pipeline.confidence import ENTITY_SCORER


@pytest.fixture(scope="session")
def dev_docs(en_pipeline_dir, en_docbins) -> list[Doc]:
    vocab = spacy.blank("en").vocab
    return list(DocBin().from_disk(en_docbins["dev"]).get_docs(vocab))


@pytest.fixture(scope="session")
def scored_nlp(en_pipeline_dir) -> Language:
    """The trained pipeline (own copy) with albert_entity_scorer after its ner."""
    nlp = spacy.load(en_pipeline_dir)
    nlp.add_pipe(ENTITY_SCORER, after="ner")
    return nlp


@pytest.fixture(scope="session")
def calibrated(tmp_path_factory, en_pipeline_dir, en_docbins) -> dict[str, Path]:
    """`python -m spacy_albert calibrate` on the dev set: the pipeline and its report."""
    out = tmp_path_factory.mktemp("calibrated")
    args = [
        "calibrate", str(en_pipeline_dir), str(en_docbins["dev"]), str(out / "pipeline"),
        "--report-dir", str(out / "report"), "--min-precision", "0.9",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return {"pipeline": out / "pipeline", "report": out / "report", "output": result.output}
