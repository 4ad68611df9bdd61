"""`python -m spacy_albert pretrain`: continue masked-LM training on in-domain text."""

from pathlib import Path

import typer
from wasabi import msg

from ._app import app


@app.command("pretrain")
def pretrain_cli(
    model_dir: Path = typer.Argument(..., exists=True, file_okay=False,
                                     help="ALBERT checkpoint to start from (e.g. init-model's)."),
    corpus: list[Path] = typer.Option(..., "--corpus", exists=True, dir_okay=False,
                                      help="Raw text, one sentence or paragraph per line (or a "
                                      ".spacy file); repeat for several."),
    steps: int = typer.Option(..., "--steps", min=1, help="Optimizer updates."),
    output_dir: Path = typer.Option(..., "--output", "-o", help="Where to write the checkpoint."),
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Sequences per update."),
    learn_rate: float = typer.Option(5e-4, "--learn-rate", help="Peak AdamW learning rate."),
    max_length: int = typer.Option(128, "--max-length", min=3,
                                   help="Pieces per sequence, [CLS]/[SEP] included."),
    whole_word_masking: bool = typer.Option(False, "--whole-word-masking",
                                            help="Mask all pieces of a word together."),
    seed: int = typer.Option(0, "--seed", help="Seed for masking, batching and the MLM head."),
    log_every: int = typer.Option(50, "--log-every", min=1, help="Print the loss every N steps."),
) -> None:
    """Continue ALBERT's masked-LM pretraining on raw in-domain text.

    The output holds AlbertModel weights plus MODEL_DIR's tokenizer files, so configs
    load it unchanged as `paths.transformer`. Runs are deterministic per seed.
    """
    from ..checkpoints.pretrain import pretrain

    def report(step: int, loss: float) -> None:
        if step == 0 or (step + 1) % log_every == 0 or step + 1 == steps:
            msg.text(f"step {step + 1:>6}  mlm loss {loss:.4f}")

    try:
        result = pretrain(model_dir, corpus, output_dir, steps, batch_size=batch_size,
                          learn_rate=learn_rate, max_length=max_length,
                          whole_word_masking=whole_word_masking, seed=seed, callback=report)
    except (ValueError, FloatingPointError) as err:
        msg.fail(str(err), exits=1)
    first, last = result.losses[0], sum(result.losses[-10:]) / len(result.losses[-10:])
    msg.good(f"Wrote {output_dir}: mlm loss {first:.3f} -> {last:.3f} (mean of last 10), "
             f"{result.words_per_second:.0f} words/s")
