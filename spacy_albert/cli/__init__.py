"""`python -m spacy_albert COMMAND`: each module below registers its command on `app`."""

from . import init_model  # noqa: F401
from ._app import app

__all__ = ["app"]
