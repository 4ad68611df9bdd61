"""`python -m spacy_albert quantize`: write an int8 copy of a trained pipeline."""

from pathlib import Path

import typer
from wasabi import msg

from ..models.int8 import METHODS
from ._app import app


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@app.command("quantize")
def quantize_cli(
    input_path: Path = typer.Argument(..., exists=True, file_okay=False,
                                      help="A trained pipeline directory (e.g. model-best)."),
    output_path: Path = typer.Argument(..., help="Directory to write the int8 pipeline to."),
    method: str = typer.Option("int8-dynamic", "--method",
                               help=f"Quantization method: {', '.join(METHODS)}."),
) -> None:
    """Quantize every ALBERT encoder of INPUT_PATH to int8 and save it to OUTPUT_PATH.

    Linear layers get int8 weights with per-row scales and int8 activations quantized
    per batch at run time; embedding tables are stored as int8 rows. The output loads
    with plain `spacy.load` like any other pipeline and is meant for inference. The
    matmul kernel is chosen where the pipeline runs (oneDNN with VNNI/AMX, fbgemm on
    AVX2, else float32 with no speed-up); this prints the choice for this CPU.
    """
    import spacy

    from ..models.cpu import current_cpu
    from ..models.int8 import quantize_pipeline
    from ..models.int8_kernels import default_choice

    if method not in METHODS:
        msg.fail(f"Unknown method {method!r}; choose one of {', '.join(METHODS)}.", exits=1)
    if output_path.resolve() == input_path.resolve():
        msg.fail("OUTPUT_PATH must differ from INPUT_PATH.", exits=1)
    nlp = spacy.load(input_path)
    count = quantize_pipeline(nlp, method)
    if not count:
        msg.fail(f"No transformer encoder found in {input_path}.", exits=1)
    nlp.to_disk(output_path)
    before, after = _size(input_path), _size(output_path)
    msg.good(
        f"Wrote {output_path}: {count} encoder(s) quantized ({method}); "
        f"{before / 1e6:.1f} MB -> {after / 1e6:.1f} MB on disk "
        f"({before / max(after, 1):.1f}x smaller)"
    )
    choice = default_choice()
    where = f"On this CPU ({current_cpu().summary()})"
    if choice.is_fast_path:
        msg.info(f"{where}: {choice.describe()}.")
    else:
        msg.warn(f"{where}: {choice.describe()}.")
