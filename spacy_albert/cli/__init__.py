"""`python -m spacy_albert COMMAND`: each module below registers its command on `app`."""

from . import (
    annotate,  # noqa: F401
    calibrate,  # noqa: F401
    convert,  # noqa: F401
    evaluate,  # noqa: F401
    explain,  # noqa: F401
    export_onnx,  # noqa: F401
    init_model,  # noqa: F401
    predict,  # noqa: F401
    pretrain,  # noqa: F401
    quantize,  # noqa: F401
    serve,  # noqa: F401
)
from ._app import app

__all__ = ["app"]
