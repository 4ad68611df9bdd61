"""Converters from common NER and text classification formats to spaCy `.spacy` DocBins.

`read_conll`, `read_char_bio` and `read_textcat` yield Docs; each takes its options as a
dataclass (`NerReadOptions`, `CharBioReadOptions`, `TextcatReadOptions`) or as keyword
arguments. `write_docbin` writes the docs atomically. `python -m spacy_albert convert
--help` lists the matching CLI commands.
"""

from .char_bio import read_char_bio, strip_position_digits
from .conll import read_conll
from .errors import ConversionError, ConversionStats, TagRepair, write_bytes_atomic, write_docbin
from .labels import parse_label_map
from .options import CharBioReadOptions, NerReadOptions, TextcatReadOptions
from .tags import normalize_tags
from .textcat import read_textcat

__all__ = [
    "CharBioReadOptions",
    "ConversionError",
    "ConversionStats",
    "NerReadOptions",
    "TagRepair",
    "TextcatReadOptions",
    "normalize_tags",
    "parse_label_map",
    "read_char_bio",
    "read_conll",
    "read_textcat",
    "strip_position_digits",
    "write_bytes_atomic",
    "write_docbin",
]
