"""Read Chinese character-level NER (one char per line, Weibo NER style) into spaCy Docs.

Each line is `CHAR<TAB>TAG`; a blank line ends a sentence (message). The docs are built
on a blank `zh` pipeline's vocab with exactly the file's characters as tokens and no
spaces, so no segmenter can change them; spaCy's default `zh` tokenizer (the "char"
segmenter) also gives one token per CJK character at training and inference time.
"""

import re
from collections.abc import Iterator
from typing import Optional

from spacy.language import Language
from spacy.tokens import Doc

from .conll import read_ner_columns
from .errors import ConversionError, ConversionStats, PathLike, blank_nlp

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
    *,
    strip_position_digits: bool = False,
    scheme: str = "auto",
    word_col: int = 0,
    tag_col: int = -1,
    sep: str = "auto",
    n_sents: int = 1,
    lang: str = "zh",
    nlp: Optional[Language] = None,
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
    stats: Optional[ConversionStats] = None,
) -> Iterator[Doc]:
    """Read a character-per-line NER file (e.g. Weibo NER) as Docs of characters.

    Each token of a doc is exactly one line's token, with `spaces=False`, so `doc.text`
    is the characters joined. Every token is annotated (tokens outside entities get
    "O"); the docs carry no `cats`. Only the first char of each sentence is marked as a
    sentence start; whether a message holds more sentences is left missing.

    path (PathLike): The input file.
    strip_position_digits (bool): Remove the position digits that the revised Weibo
        files append to each char (`科0` -> `科`, `20` -> `2`). A token without such
        digits is then an error, so bare-char files are not silently changed.
    scheme (str): "auto" (BIO, IOB1, BIOES or BMES), or one of "iob1", "iob2",
        "bioes", "bilou", "bmes" to check the tags strictly against that scheme.
    word_col (int): The column of the char (negative counts from the end).
    tag_col (int): The column of the NER tag (negative counts from the end).
    sep (str): "auto" (tabs if the line has one, else any run of spaces), "tab" or
        "whitespace".
    n_sents (int): Sentences (messages) per doc.
    lang (str): Language of the blank pipeline whose vocab the docs use.
    nlp (Optional[Language]): A pipeline whose vocab to use instead of `spacy.blank(lang)`.
    encoding (str): The text encoding.
    encoding_errors (str): "strict", "replace", "surrogateescape" or "backslashreplace".
        The original Weibo files hold CESU-8 surrogate bytes, which are invalid UTF-8;
        "replace" turns them into U+FFFD.
    stats (Optional[ConversionStats]): Stats to count sentences and separators in.
    YIELDS (Doc): One doc per `n_sents` sentences.
    """
    yield from read_ner_columns(
        path,
        word_col=word_col,
        tag_col=tag_col,
        scheme=scheme,
        sep=sep,
        n_sents=n_sents,
        vocab=(nlp if nlp is not None else blank_nlp(lang)).vocab,
        spaces=False,
        gold_sentences=False,
        encoding=encoding,
        encoding_errors=encoding_errors,
        stats=stats,
        word_transform=_strip_checked if strip_position_digits else None,
    )
