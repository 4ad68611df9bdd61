"""`python -m spacy_albert export-onnx`: a copy of a pipeline whose encoder runs on onnxruntime."""

from pathlib import Path

import typer
from wasabi import msg

from ._app import app


@app.command("export-onnx")
def export_onnx_cli(
    pipeline: str = typer.Argument(..., help="A trained pipeline directory or package name."),
    output_path: Path = typer.Argument(..., help="Directory to write the ONNX pipeline to."),
    int8: bool = typer.Option(
        False, "--int8", help="Quantize the encoder to int8 (onnxruntime dynamic quantization)."
    ),
    opset: int = typer.Option(17, "--opset", min=17, help="ONNX opset version."),
) -> None:
    """Export the shared ALBERT encoder of PIPELINE to ONNX and save the pipeline to OUTPUT.

    The encoder takes input_ids, attention_mask and token_type_ids with dynamic batch
    and length and returns last_hidden_state. The output is a spaCy pipeline
    (`spacy.load(OUTPUT)`) whose transformer runs that graph on onnxruntime; the heads
    are unchanged. It predicts only: train the torch pipeline and export again.
    Needs `pip install 'spacy-albert[onnx]'`.
    """
    if Path(pipeline).resolve() == output_path.resolve():
        msg.fail("OUTPUT_PATH must differ from PIPELINE.", exits=1)
    try:
        from ..models.onnx_export import export_onnx_pipeline
    except ImportError as err:
        msg.fail(f"export-onnx needs onnx and onnxruntime ({err}): "
                 "pip install 'spacy-albert[onnx]'", exits=1)
    try:
        result = export_onnx_pipeline(pipeline, output_path, int8=int8, opset=opset)
    except ValueError as err:
        msg.fail("Cannot export", str(err), exits=1)
    kind = "int8" if result.int8 else "float32"
    msg.good(
        f"Wrote {result.output}: {', '.join(result.components)} on onnxruntime ({kind}); "
        f"ONNX encoder {result.encoder_bytes / 1e6:.1f} MB"
    )
