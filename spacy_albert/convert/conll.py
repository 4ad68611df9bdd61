"""Read NER data in CoNLL column format (CoNLL-2003, WNUT, Resume NER) into spaCy Docs.

One token per line, columns split by tabs or spaces, a blank (or whitespace-only) line
between sentences, `-DOCSTART-` lines between documents. Tags in IOB1, IOB2, BIOES/BILOU
or BMES are turned into entity spans; every token of a converted doc is annotated
(`O` set explicitly), so spaCy's `ner` learns from the O tokens too.
"""

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Callable, Optional, Union

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from .errors import (
    ConversionError,
    ConversionStats,
    PathLike,
    blank_nlp,
    check_storable,
    iter_lines,
)

DOCSTART = "-DOCSTART-"
SCHEMES = ("auto", "iob1", "iob2", "bioes", "bilou", "bmes")
SEPARATORS = ("auto", "tab", "whitespace")

# The prefixes each scheme allows, after L -> E and U -> S.
_SCHEME_PREFIXES = {
    "auto": "BIMES",
    "iob1": "BI",
    "iob2": "BI",
    "bioes": "BIES",
    "bilou": "BIES",
    "bmes": "BMES",
}
# Schemes in which every entity must end in E- (or be a single S-).
_CLOSED_SCHEMES = ("bioes", "bilou", "bmes")
_TAG_RE = re.compile(r"^([BIMESLU])[-_](\S.*)$")
_ALIASES = {"L": "E", "U": "S"}
# (word, path, line) -> the word to use, e.g. with a position digit stripped.
WordTransform = Callable[[str, PathLike, int], str]


@dataclass
class Sentence:
    """One sentence as read from a column file.

    words (List[str]): The token texts.
    tags (List[str]): The NER tags, one per token.
    lines (List[int]): The 1-based line number of each token.
    """

    words: list[str]
    tags: list[str]
    lines: list[int]


def parse_tag(tag: str, path: PathLike, line: int) -> tuple[str, str]:
    """Split a tag into its prefix and its label.

    tag (str): E.g. "B-PER", "I_LOC", "S-NAME" or "O".
    path (PathLike): The input file, for error messages.
    line (int): The tag's 1-based line, for error messages.
    RETURNS (Tuple[str, str]): The prefix (one of "O", "B", "I", "M", "E", "S") and the
        label ("" for "O"). BILOU's "L" and "U" come back as "E" and "S".
    """
    if tag == "O":
        return "O", ""
    match = _TAG_RE.match(tag)
    if match is None:
        raise ConversionError(
            f"unknown NER tag {tag!r}: expected 'O' or a B-, I-, M-, E-, S-, L- or U- "
            "prefix followed by a label (e.g. 'B-PER')",
            path,
            line,
        )
    prefix, label = match.groups()
    return _ALIASES.get(prefix, prefix), label


def tags_to_spans(
    tags: Sequence[str],
    lines: Sequence[int],
    *,
    scheme: str = "auto",
    path: PathLike = "<input>",
) -> list[tuple[int, int, str]]:
    """Turn one sentence's tags into entity spans, checking they are well formed.

    `I-X` after `O` or after another type starts an entity in "iob1" and "auto" (IOB1);
    it is an error in the other schemes. `E-X` or `M-X` with no open `X` entity is always
    an error. In "bioes", "bilou" and "bmes" an entity must also end with `E-` (or be a
    single `S-`). "auto" accepts every prefix and checks only what all schemes share.

    tags (Sequence[str]): The tags of one sentence.
    lines (Sequence[int]): The 1-based line of each tag, for error messages.
    scheme (str): One of "auto", "iob1", "iob2", "bioes", "bilou", "bmes".
    path (PathLike): The input file, for error messages.
    RETURNS (List[Tuple[int, int, str]]): (start token, end token (exclusive), label).
    """
    if scheme not in SCHEMES:
        raise ConversionError(f"unknown tag scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    allowed = _SCHEME_PREFIXES[scheme]
    closed = scheme in _CLOSED_SCHEMES
    spans: list[tuple[int, int, str]] = []
    start: Optional[int] = None
    label = ""
    start_tag = ""

    def fail_unclosed(i: int, tag_here: str) -> None:
        raise ConversionError(
            f"{start_tag} (line {lines[start]}) is not closed by E-{label} before "
            f"{tag_here!r}; in the {scheme.upper()} scheme every entity ends with E- "
            "(or is a single S-)",
            path,
            lines[i],
        )

    for i, tag in enumerate(tags):
        prefix, ent_label = parse_tag(tag, path, lines[i])
        if prefix != "O" and prefix not in allowed:
            raise ConversionError(
                f"tag {tag!r} has prefix {prefix}-, which the {scheme.upper()} scheme "
                f"does not use (it uses {', '.join(p + '-' for p in allowed)} and O)",
                path,
                lines[i],
            )
        continues = start is not None and ent_label == label
        if prefix in ("O", "B", "S"):
            if start is not None:
                if closed:
                    fail_unclosed(i, tag)
                spans.append((start, i, label))
                start = None
            if prefix == "B":
                start, label, start_tag = i, ent_label, tag
            elif prefix == "S":
                spans.append((i, i + 1, ent_label))
        elif prefix in ("I", "M"):
            if continues:
                continue
            if prefix == "I" and scheme in ("auto", "iob1"):
                # IOB1: I-X after O or after another type begins an entity.
                if start is not None:
                    spans.append((start, i, label))
                start, label, start_tag = i, ent_label, tag
                continue
            previous = tags[i - 1] if i > 0 else "the start of the sentence"
            raise ConversionError(
                f"{tag!r} does not continue an entity of type {ent_label!r} "
                f"(previous tag: {previous!r}); an entity must start with B-"
                + (" (pass --scheme iob1 if this file is IOB1)" if prefix == "I" else ""),
                path,
                lines[i],
            )
        else:  # E
            if not continues:
                previous = tags[i - 1] if i > 0 else "the start of the sentence"
                raise ConversionError(
                    f"{tag!r} ends an entity that was never begun (previous tag: "
                    f"{previous!r}); an E- tag must follow B-{ent_label} or "
                    f"I-/M-{ent_label}",
                    path,
                    lines[i],
                )
            spans.append((start, i + 1, label))  # type: ignore[arg-type]
            start = None
    if start is not None:
        if closed:
            fail_unclosed(len(tags) - 1, "the end of the sentence")
        spans.append((start, len(tags), label))
    return spans


def _column_index(col: int, n_cols: int, name: str, path: PathLike, line: int) -> int:
    index = col + n_cols if col < 0 else col
    if not 0 <= index < n_cols:
        raise ConversionError(
            f"--{name} {col} is out of range: the line has {n_cols} column(s)", path, line
        )
    return index


def _split_fields(line: str, sep: str) -> list[str]:
    if sep == "tab" or (sep == "auto" and "\t" in line):
        fields = line.split("\t")
        while len(fields) > 1 and not fields[-1].strip():
            fields.pop()  # trailing tabs
        return [field.strip() for field in fields]
    return line.split()


def iter_sentences(
    path: PathLike,
    *,
    word_col: int = 0,
    tag_col: int = -1,
    sep: str = "auto",
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
    stats: Optional[ConversionStats] = None,
) -> Iterator[Optional[Sentence]]:
    """Read a column file sentence by sentence.

    A line that is empty or holds only whitespace (tabs, spaces) ends a sentence. A line
    whose first column is `-DOCSTART-` (`-DOCSTART- -X- -X- O`, `-DOCSTART- -X- O O`,
    or `-DOCSTART-` alone) ends the sentence too and is never data: it is counted in
    `stats.skipped_separators` and yielded as None, so callers can end a document there.
    Every other line must have as many columns as the file's first token line.

    path (PathLike): The input file.
    word_col (int): The column of the token text (negative counts from the end).
    tag_col (int): The column of the NER tag (negative counts from the end).
    sep (str): "auto" (tabs if the line has one, else any run of spaces), "tab" or
        "whitespace".
    encoding (str): The text encoding.
    encoding_errors (str): "strict", "replace", "surrogateescape" or "backslashreplace".
    stats (Optional[ConversionStats]): Stats to count sentences and separators in.
    YIELDS (Optional[Sentence]): A sentence, or None for a document separator.
    """
    if sep not in SEPARATORS:
        raise ConversionError(f"unknown separator {sep!r}; choose one of {', '.join(SEPARATORS)}")
    if stats is None:
        stats = ConversionStats()
    n_cols: Optional[int] = None
    first_line = 0
    words: list[str] = []
    tags: list[str] = []
    lines: list[int] = []

    def flush() -> Optional[Sentence]:
        if not words:
            return None
        sentence = Sentence(list(words), list(tags), list(lines))
        words.clear()
        tags.clear()
        lines.clear()
        stats.n_sents += 1
        return sentence

    for line_no, line in iter_lines(path, encoding=encoding, encoding_errors=encoding_errors):
        if not line.strip():
            sentence = flush()
            if sentence is not None:
                yield sentence
            continue
        fields = _split_fields(line, sep)
        if fields[0] == DOCSTART:
            sentence = flush()
            if sentence is not None:
                yield sentence
            stats.skipped_separators += 1
            yield None
            continue
        if n_cols is None:
            n_cols, first_line = len(fields), line_no
            w_index = _column_index(word_col, n_cols, "word-col", path, line_no)
            t_index = _column_index(tag_col, n_cols, "tag-col", path, line_no)
            if w_index == t_index:
                raise ConversionError(
                    f"--word-col {word_col} and --tag-col {tag_col} name the same column "
                    f"(the file has {n_cols} columns)",
                    path,
                    line_no,
                )
        elif len(fields) != n_cols:
            raise ConversionError(
                f"expected {n_cols} columns (as on line {first_line}), found {len(fields)}: "
                f"{line.strip()!r}",
                path,
                line_no,
            )
        word, tag = fields[w_index], fields[t_index]
        if not word:
            raise ConversionError(
                f"the token (column {w_index}) is empty or only whitespace: {line!r}",
                path,
                line_no,
            )
        check_storable(word, path, line_no)
        words.append(word)
        tags.append(tag)
        lines.append(line_no)
    sentence = flush()
    if sentence is not None:
        yield sentence


def sentences_to_doc(
    vocab: Vocab,
    sentences: Sequence[Sentence],
    *,
    scheme: str,
    path: PathLike,
    spaces: bool,
    gold_sentences: bool,
) -> Doc:
    """Build one Doc from one or more sentences, with every token's entity tag set.

    vocab (Vocab): The vocab of the pipeline the docs are for.
    sentences (Sequence[Sentence]): The sentences, in order.
    scheme (str): The tag scheme, see `tags_to_spans`.
    path (PathLike): The input file, for error messages.
    spaces (bool): Whether tokens are followed by a space (False for Chinese characters).
    gold_sentences (bool): Mark every token as sentence start or not (CoNLL sentences are
        gold); if False only each sentence's first token is marked and the rest is missing.
    RETURNS (Doc): The doc; tokens outside entities have `ent_iob_ == "O"`.
    """
    words: list[str] = []
    sent_starts: list[Union[bool, None]] = []
    ents: list[tuple[int, int, str]] = []
    for sentence in sentences:
        offset = len(words)
        for start, end, label in tags_to_spans(
            sentence.tags, sentence.lines, scheme=scheme, path=path
        ):
            ents.append((offset + start, offset + end, label))
        words.extend(sentence.words)
        sent_starts.append(True)
        sent_starts.extend([False if gold_sentences else None] * (len(sentence.words) - 1))
    # No trailing space after the doc's last token.
    token_spaces = [spaces] * (len(words) - 1) + [False]
    doc = Doc(vocab, words=words, spaces=token_spaces, sent_starts=sent_starts)
    doc.set_ents(
        [Span(doc, start, end, label=label) for start, end, label in ents], default="outside"
    )
    return doc


def read_conll(
    path: PathLike,
    *,
    word_col: int = 0,
    tag_col: int = -1,
    scheme: str = "auto",
    sep: str = "auto",
    n_sents: int = 1,
    lang: str = "en",
    nlp: Optional[Language] = None,
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
    stats: Optional[ConversionStats] = None,
) -> Iterator[Doc]:
    """Read a CoNLL column NER file (CoNLL-2003, WNUT, Resume NER) as Docs.

    Docs never span a `-DOCSTART-` line; the separators are counted in
    `stats.skipped_separators`, never turned into docs. Every token is annotated (tokens
    outside entities get "O"), and the docs carry no `cats`.

    path (PathLike): The input file.
    word_col (int): The column of the token text (negative counts from the end).
    tag_col (int): The column of the NER tag (negative counts from the end).
    scheme (str): "auto" (IOB1, IOB2, BIOES, BILOU or BMES), or one of "iob1", "iob2",
        "bioes", "bilou", "bmes" to check the tags strictly against that scheme.
    sep (str): "auto" (tabs if the line has one, else any run of spaces), "tab" or
        "whitespace".
    n_sents (int): Sentences per doc (1: one doc per sentence).
    lang (str): Language of the blank pipeline whose vocab the docs use.
    nlp (Optional[Language]): A pipeline whose vocab to use instead of `spacy.blank(lang)`.
    encoding (str): The text encoding.
    encoding_errors (str): "strict", "replace", "surrogateescape" or "backslashreplace".
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
        spaces=True,
        gold_sentences=True,
        encoding=encoding,
        encoding_errors=encoding_errors,
        stats=stats,
    )


def read_ner_columns(
    path: PathLike,
    *,
    word_col: int,
    tag_col: int,
    scheme: str,
    sep: str,
    n_sents: int,
    vocab: Vocab,
    spaces: bool,
    gold_sentences: bool,
    encoding: str,
    encoding_errors: str,
    stats: Optional[ConversionStats],
    word_transform: Optional[WordTransform] = None,
) -> Iterator[Doc]:
    """Group a column file's sentences into NER docs: the reader behind `read_conll`
    (word tokens, gold sentences) and `read_char_bio` (characters, no spaces).

    vocab (Vocab): The vocab the docs use.
    spaces (bool): Whether tokens are followed by a space.
    gold_sentences (bool): Whether every token's sentence start is known.
    word_transform (Optional[WordTransform]): Rewrites each (word, path, line) before
        the doc is built, e.g. to strip Weibo position digits; may raise ConversionError.
    The other arguments are `read_conll`'s.
    YIELDS (Doc): One doc per `n_sents` sentences.
    """
    if n_sents < 1:
        raise ConversionError(f"--n-sents must be at least 1, not {n_sents}")
    if scheme not in SCHEMES:
        raise ConversionError(f"unknown tag scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    group: list[Sentence] = []
    for sentence in iter_sentences(
        path,
        word_col=word_col,
        tag_col=tag_col,
        sep=sep,
        encoding=encoding,
        encoding_errors=encoding_errors,
        stats=stats,
    ):
        if sentence is not None:
            if word_transform is not None:
                sentence.words = [
                    word_transform(word, path, line)
                    for word, line in zip(sentence.words, sentence.lines)
                ]
            group.append(sentence)
        if group and (sentence is None or len(group) == n_sents):
            yield sentences_to_doc(
                vocab,
                group,
                scheme=scheme,
                path=path,
                spaces=spaces,
                gold_sentences=gold_sentences,
            )
            group = []
    if group:
        yield sentences_to_doc(
            vocab, group, scheme=scheme, path=path, spaces=spaces, gold_sentences=gold_sentences
        )
