"""`python -m spacy_albert init-model`: build or import an ALBERT checkpoint offline."""

from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from ..checkpoints.builder import (
    DEFAULT_VOCAB_SIZE,
    LANGS,
    RANDOM_INIT_RECIPE,
    SIZES,
    TRAINING_RECIPE_FILE,
    TrainingRecipe,
    init_model,
)
from ..checkpoints.pretrained import CONVERTIBLE, import_pretrained
from ..models.loading import ModelNotFoundError
from ._app import app


@app.command("init-model")
def init_model_cli(
    output_dir: Path = typer.Argument(..., help="Directory to write the checkpoint to."),
    corpus: Optional[list[Path]] = typer.Option(None, "--corpus", exists=True, dir_okay=False,
                                      help="Text file (one sentence per line) or .spacy file "
                                      "to learn the vocabulary from; repeat for several."),
    lang: str = typer.Option("en", "--lang", help=f"Language: {', '.join(LANGS)}."),
    size: str = typer.Option("tiny", "--size", help=f"Model size: {', '.join(SIZES)}."),
    vocab_size: int = typer.Option(0, "--vocab-size",
                                   help=f"Target vocabulary size (0: {DEFAULT_VOCAB_SIZE})."),
    seed: int = typer.Option(0, "--seed", help="Seed for the vocabulary and the weights."),
    pretrained: str = typer.Option(
        "", "--from", help="Import this pretrained checkpoint (hub name such as "
        f"albert-base-v2, or a checkpoint dir) instead of building one: {CONVERTIBLE}. "
        "--corpus, --size, --vocab-size and --seed are then unused. Empty: build."),
) -> None:
    """Build a randomly initialised ALBERT whose vocabulary is learned from CORPUS.

    English gets a SentencePiece model (albert-base-v2's layout, AlbertTokenizerFast);
    Chinese a character WordPiece vocab (BertTokenizerFast, like albert_chinese_*).
    The directory loads with AutoTokenizer/AutoModel.from_pretrained(dir) offline and
    can be named as the transformer in any spacy-albert config. With --from, the
    directory holds that pretrained checkpoint instead (a BERT converted exactly into an
    ALBERT), so later steps run offline. Either way the `spacy train` overrides that
    suit the weights are printed and saved in the directory.
    """
    if pretrained:
        try:
            imported = import_pretrained(pretrained, output_dir)
        except (ModelNotFoundError, ValueError) as err:
            msg.fail(str(err), exits=1)
        how = "converted into an ALBERT" if imported.source_type == "bert" else "saved"
        msg.good(f"The pretrained {imported.source_type.upper()} '{pretrained}' {how}: "
                 f"{imported.path}")
        for note in imported.notes:
            msg.info(note)
        print_recipe(imported.recipe, imported.path)
        return
    if not corpus:
        msg.fail("Give --corpus to build an ALBERT, or --from to save a pretrained one.", exits=1)
    try:
        path = init_model(output_dir, corpus, lang=lang, size=size,
                          vocab_size=vocab_size or None, seed=seed)
    except ValueError as err:
        msg.fail(str(err), exits=1)
    msg.good(f"Wrote a {size} {lang} ALBERT to {path}")
    print_recipe(RANDOM_INIT_RECIPE, path)


def print_recipe(recipe: TrainingRecipe, model_dir: Path) -> None:
    """Say how to train the checkpoint with the shipped configs (also in its recipe file)."""
    if not recipe.overrides:
        msg.info(f"Train with the shipped configs as they are: {recipe.reason}.")
        return
    msg.warn(f"Train it with these overrides: {recipe.reason} (saved in "
             f"{model_dir / TRAINING_RECIPE_FILE}):")
    print(f"  python -m spacy train CONFIG --paths.transformer {model_dir} ... "
          f"{recipe.cli_flags()}")
