"""Read Chinese character-level NER (one char per line, Weibo NER style) into spaCy Docs.

Each line is `CHAR<TAB>TAG`; a blank line ends a sentence (message). The docs are built
on a blank `zh` pipeline's vocab with exactly the file's characters as tokens and no
spaces, so no segmenter can change them; spaCy's default `zh` tokenizer (the "char"
segmenter) also gives one token per CJK character at training and inference time.
"""

import re
from collections.abc import Iterator
from typing import Any, Optional

from spacy.language import Language
from spacy.tokens import Doc

from .conll import read_ner_columns
from .errors import ConversionError, ConversionStats, PathLike, blank_nlp
from .options import CharBioReadOptions, merge_options

# A position suffix: trailing digits, but never the token's first character, so the
# literal digit "2" at position 0, written "20", becomes "2".
_POSITION_DIGITS = re.compile(r"(?<=.)\d+$")


def strip_position_digits(token: str) -> str:
    """Remove the in-word position digits the revised Weibo NER files append to each char.

    token (str): E.g. "科0", "技1", "20" (the digit "2" at position 0) or "北12".
    RETURNS (str): The character(s): "科", "技", "2", "北". A one-char token is kept.
    """
    return _POSITION_DIGITS.sub("", token)


def _strip_checked(token: str, path: PathLike, line: int) -> str:
    stripped = strip_position_digits(token)
    if stripped == token:
        raise ConversionError(
            f"token {token!r} has no position digits to strip; drop "
            "--strip-position-digits for files that hold bare characters",
            path,
            line,
        )
    return stripped


def read_char_bio(
    path: PathLike,
    options: Optional[CharBioReadOptions] = None,
    *,
    nlp: Optional[Language] = None,
    stats: Optional[ConversionStats] = None,
    **fields: Any,
) -> Iterator[Doc]:
    """Read a character-per-line NER file (e.g. Weibo NER) as Docs of characters.

    Each token of a doc is exactly one line's token, with `spaces=False`, so `doc.text`
    is the characters joined. Every token is annotated (tokens outside entities get
    "O"); the docs carry no `cats`. Only the first char of each sentence is marked as a
    sentence start; whether a message holds more sentences is left missing. Tags may be
    BIO, IOB1, BIOES or BMES; malformed sequences are repaired and recorded in
    `stats.repairs` as `read_conll` does (refused with `strict=True`). The original
    Weibo files hold CESU-8 surrogate bytes, which are invalid UTF-8: read them with
    `encoding_errors="replace"` (U+FFFD).

    path (PathLike): The input file.
    options (Optional[CharBioReadOptions]): How to read it (default:
        `CharBioReadOptions()`, whose `lang` is "zh").
    nlp (Optional[Language]): A pipeline whose vocab to use instead of
        `spacy.blank(options.lang)`.
    stats (Optional[ConversionStats]): Stats to count sentences, separators and repairs in.
    **fields: Fields of `CharBioReadOptions` (e.g. `strip_position_digits=True`),
        overriding those of `options`.
    YIELDS (Doc): One doc per `options.n_sents` sentences.
    """
    options = merge_options(options, CharBioReadOptions, fields)
    yield from read_ner_columns(
        path,
        options,
        vocab=(nlp if nlp is not None else blank_nlp(options.lang)).vocab,
        spaces=False,
        gold_sentences=False,
        stats=stats,
        word_transform=_strip_checked if options.strip_position_digits else None,
    )
