"""Converters from common NER and text classification formats to spaCy `.spacy` DocBins.

`read_conll`, `read_char_bio` and `read_textcat` yield Docs; `write_docbin` writes them
atomically. `python -m spacy_albert convert --help` lists the matching CLI commands.
"""

from .char_bio import read_char_bio, strip_position_digits
from .conll import read_conll, tags_to_spans
from .errors import ConversionError, ConversionStats, write_bytes_atomic, write_docbin
from .textcat import parse_label_map, read_textcat

__all__ = [
    "ConversionError",
    "ConversionStats",
    "parse_label_map",
    "read_char_bio",
    "read_conll",
    "read_textcat",
    "strip_position_digits",
    "tags_to_spans",
    "write_bytes_atomic",
    "write_docbin",
]
