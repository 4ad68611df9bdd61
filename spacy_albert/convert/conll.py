"""Read NER data in CoNLL column format (CoNLL-2003, WNUT, Resume NER) into spaCy Docs.

One token per line, columns split by tabs or spaces, a blank (or whitespace-only) line
between sentences, `-DOCSTART-` lines between documents. Tags in IOB1, IOB2, BIOES/BILOU
or BMES are turned into entity spans; every token of a converted doc is annotated
(`O` set explicitly), so spaCy's `ner` learns from the O tokens too. A malformed tag
sequence (e.g. an entity across a sentence break) is repaired and recorded, or refused
with `strict=True`: see `spacy_albert.convert.tags` for the rule.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import biluo_tags_to_spans, iob_to_biluo
from spacy.vocab import Vocab

from .errors import (
    ConversionError,
    ConversionStats,
    PathLike,
    blank_nlp,
    check_storable,
    iter_lines,
)
from .options import NerReadOptions, merge_options
from .tags import normalize_tags

DOCSTART = "-DOCSTART-"
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
    path: PathLike, options: NerReadOptions, stats: ConversionStats
) -> Iterator[Optional[Sentence]]:
    """Read a column file sentence by sentence.

    A line that is empty or holds only whitespace (tabs, spaces) ends a sentence. A line
    whose first column is `-DOCSTART-` (`-DOCSTART- -X- -X- O`, `-DOCSTART- -X- O O`,
    or `-DOCSTART-` alone) ends the sentence too and is never data: it is counted in
    `stats.skipped_separators` and yielded as None, so callers can end a document there.
    Every other line must have as many columns as the file's first token line.

    path (PathLike): The input file.
    options (NerReadOptions): The columns, separator and encoding to read with.
    stats (ConversionStats): Stats to count sentences and separators in.
    YIELDS (Optional[Sentence]): A sentence, or None for a document separator.
    """
    word_col, tag_col = options.word_col, options.tag_col
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

    lines_read = iter_lines(
        path, encoding=options.encoding, encoding_errors=options.encoding_errors
    )
    for line_no, line in lines_read:
        if not line.strip():
            sentence = flush()
            if sentence is not None:
                yield sentence
            continue
        fields = _split_fields(line, options.sep)
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
    options: NerReadOptions,
    path: PathLike,
    spaces: bool,
    gold_sentences: bool,
    stats: ConversionStats,
) -> Doc:
    """Build one Doc from one or more sentences, with every token's entity tag set.

    vocab (Vocab): The vocab of the pipeline the docs are for.
    sentences (Sequence[Sentence]): The sentences, in order.
    options (NerReadOptions): The tag scheme and whether to refuse malformed tags.
    path (PathLike): The input file, for messages.
    spaces (bool): Whether tokens are followed by a space (False for Chinese characters).
    gold_sentences (bool): Mark every token as sentence start or not (CoNLL sentences are
        gold); if False only each sentence's first token is marked and the rest is missing.
    stats (ConversionStats): Stats to record tag repairs in.
    RETURNS (Doc): The doc; tokens outside entities have `ent_iob_ == "O"`.
    """
    words: list[str] = []
    sent_starts: list[Union[bool, None]] = []
    biluo: list[str] = []
    for sentence in sentences:
        iob2 = normalize_tags(
            sentence.tags,
            sentence.lines,
            scheme=options.scheme,
            path=path,
            strict=options.strict,
            repairs=stats.repairs,
        )
        # Per sentence: every entity ends with its sentence (and iob_to_biluo is
        # quadratic in the length of what it is given).
        biluo.extend(iob_to_biluo(iob2))
        words.extend(sentence.words)
        sent_starts.append(True)
        sent_starts.extend([False if gold_sentences else None] * (len(sentence.words) - 1))
    # No trailing space after the doc's last token.
    token_spaces = [spaces] * (len(words) - 1) + [False]
    doc = Doc(vocab, words=words, spaces=token_spaces, sent_starts=sent_starts)
    doc.set_ents(biluo_tags_to_spans(doc, biluo), default="outside")
    return doc


def read_conll(
    path: PathLike,
    options: Optional[NerReadOptions] = None,
    *,
    nlp: Optional[Language] = None,
    stats: Optional[ConversionStats] = None,
    **fields: Any,
) -> Iterator[Doc]:
    """Read a CoNLL column NER file (CoNLL-2003, WNUT, Resume NER) as Docs.

    Docs never span a `-DOCSTART-` line; the separators are counted in
    `stats.skipped_separators`, never turned into docs. Every token is annotated (tokens
    outside entities get "O"), and the docs carry no `cats`. Malformed tag sequences are
    repaired and recorded in `stats.repairs` (refused with `strict=True`).

    path (PathLike): The input file.
    options (Optional[NerReadOptions]): How to read it (default: `NerReadOptions()`).
    nlp (Optional[Language]): A pipeline whose vocab to use instead of
        `spacy.blank(options.lang)`.
    stats (Optional[ConversionStats]): Stats to count sentences, separators and repairs in.
    **fields: Fields of `NerReadOptions` (e.g. `scheme="bmes", n_sents=10`), overriding
        those of `options`.
    YIELDS (Doc): One doc per `options.n_sents` sentences.
    """
    options = merge_options(options, NerReadOptions, fields)
    yield from read_ner_columns(
        path,
        options,
        vocab=(nlp if nlp is not None else blank_nlp(options.lang)).vocab,
        spaces=True,
        gold_sentences=True,
        stats=stats,
    )


def read_ner_columns(
    path: PathLike,
    options: NerReadOptions,
    *,
    vocab: Vocab,
    spaces: bool,
    gold_sentences: bool,
    stats: Optional[ConversionStats],
    word_transform: Optional[WordTransform] = None,
) -> Iterator[Doc]:
    """Group a column file's sentences into NER docs: the reader behind `read_conll`
    (word tokens, gold sentences) and `read_char_bio` (characters, no spaces).

    path (PathLike): The input file.
    options (NerReadOptions): How to read it.
    vocab (Vocab): The vocab the docs use.
    spaces (bool): Whether tokens are followed by a space.
    gold_sentences (bool): Whether every token's sentence start is known.
    stats (Optional[ConversionStats]): Stats to count sentences, separators and repairs in.
    word_transform (Optional[WordTransform]): Rewrites each (word, path, line) before
        the doc is built, e.g. to strip Weibo position digits; may raise ConversionError.
    YIELDS (Doc): One doc per `options.n_sents` sentences.
    """
    if stats is None:
        stats = ConversionStats()
    for group in _group_sentences(iter_sentences(path, options, stats), options.n_sents):
        if word_transform is not None:
            for sentence in group:
                sentence.words = [
                    word_transform(word, path, line)
                    for word, line in zip(sentence.words, sentence.lines)
                ]
        yield sentences_to_doc(
            vocab,
            group,
            options=options,
            path=path,
            spaces=spaces,
            gold_sentences=gold_sentences,
            stats=stats,
        )


def _group_sentences(
    sentences: Iterable[Optional[Sentence]], n_sents: int
) -> Iterator[list[Sentence]]:
    """Group sentences `n_sents` at a time, never across a document separator (None)."""
    group: list[Sentence] = []
    for sentence in sentences:
        if sentence is not None:
            group.append(sentence)
        if group and (sentence is None or len(group) == n_sents):
            yield group
            group = []
    if group:
        yield group
