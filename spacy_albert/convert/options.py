"""The typed options of each reader: one dataclass per input family, built by the CLI.

The readers also take the same fields as keyword arguments (`read_conll(path,
n_sents=10)`), which override the fields of the options object they are given.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Optional, TypeVar, Union, get_args

from .errors import ConversionError, EncodingErrors, check_encoding_errors

Scheme = Literal["auto", "iob1", "iob2", "bioes", "bilou", "bmes"]
Separator = Literal["auto", "tab", "whitespace"]
FileFormat = Literal["auto", "csv", "tsv", "jsonl"]
SCHEMES: tuple[str, ...] = get_args(Scheme)
SEPARATORS: tuple[str, ...] = get_args(Separator)
FORMATS: tuple[str, ...] = get_args(FileFormat)

LabelMapArg = Union[None, str, Path, Mapping[str, str]]
ColumnSpec = Union[str, int]


def check_choice(value: str, choices: tuple[str, ...], what: str) -> None:
    """Refuse a value outside a `Literal` enumeration (a dataclass does not check types).

    value (str): The value given.
    choices (Tuple[str, ...]): The allowed values.
    what (str): What the value is, for the message, e.g. "tag scheme".
    """
    if value not in choices:
        raise ConversionError(f"unknown {what} {value!r}; choose one of {', '.join(choices)}")


@dataclass(frozen=True)
class ReadOptions:
    """What every reader needs: the language of the docs and how to decode the file.

    lang (str): Language of the blank pipeline whose vocab (and, for text
        classification, tokenizer) the docs use.
    encoding (str): The text encoding.
    encoding_errors (EncodingErrors): "strict", "replace", "surrogateescape" or
        "backslashreplace".
    """

    lang: str = "en"
    encoding: str = "utf-8"
    encoding_errors: EncodingErrors = "strict"

    def __post_init__(self) -> None:
        check_encoding_errors(self.encoding_errors)


@dataclass(frozen=True)
class NerReadOptions(ReadOptions):
    """How to read a CoNLL column NER file (`read_conll`).

    word_col (int): The column of the token text (negative counts from the end).
    tag_col (int): The column of the NER tag (negative counts from the end).
    scheme (Scheme): "auto" (IOB1, IOB2, BIOES, BILOU or BMES), or a named scheme to
        check the tags against it.
    sep (Separator): "auto" (tabs if the line has one, else any run of spaces), "tab" or
        "whitespace".
    n_sents (int): Sentences per doc (1: one doc per sentence).
    strict (bool): Refuse a malformed tag sequence with its file and line, instead of
        repairing it (see `spacy_albert.convert.tags`).
    """

    word_col: int = 0
    tag_col: int = -1
    scheme: Scheme = "auto"
    sep: Separator = "auto"
    n_sents: int = 1
    strict: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice(self.scheme, SCHEMES, "tag scheme")
        check_choice(self.sep, SEPARATORS, "separator")
        if self.n_sents < 1:
            raise ConversionError(f"--n-sents must be at least 1, not {self.n_sents}")


@dataclass(frozen=True)
class CharBioReadOptions(NerReadOptions):
    """How to read a character-per-line NER file (`read_char_bio`).

    lang (str): As in `ReadOptions`; "zh" by default.
    strip_position_digits (bool): Remove the position digits that the revised Weibo
        files append to each char (`科0` -> `科`); a char without them is then an error.
    """

    lang: str = "zh"
    strip_position_digits: bool = False


@dataclass(frozen=True)
class TextcatReadOptions(ReadOptions):
    """How to read a text classification file (`read_textcat`).

    file_format (FileFormat): "csv", "tsv", "jsonl", or "auto" (from the suffix; .txt is
        TSV).
    exclusive (bool): One label per doc (`textcat`); False for multi-label
        (`textcat_multilabel`).
    label_col (ColumnSpec): CSV/TSV label column: "first", "last", an index (from 0,
        negative from the end), a header name, or "auto" (a header cell named "label",
        "class", ...; else whichever of the first and last column has fewer distinct
        values).
    text_col (Union[None, ColumnSpec, Sequence[ColumnSpec]]): CSV/TSV text column(s) as
        index or header name (a str may list several, comma-separated); None: all columns
        but the label column, joined with `text_sep`.
    text_sep (str): What joins several text columns (e.g. AG News title and description).
    header (Optional[bool]): CSV/TSV: whether the first row is a header. None: decide
        from the data (see `tables.looks_like_header`); the decision is noted in the stats.
    label_sep (str): CSV/TSV with `exclusive=False`: what separates labels in a cell.
    label_map (LabelMapArg): Raw label -> name, as "0:NEGATIVE,1:POSITIVE", a dict, or a
        path to a JSON (or one-name-per-line) file. A label not in the map is an error.
    labels (Optional[Sequence[str]]): The full label set, in order (e.g. to give dev the
        same keys as train). Default: the map's names, or the sorted labels seen.
    text_field (str): JSONL: the field holding the text.
    label_field (str): JSONL: the field holding the label: a str (one label), a list
        (labels) or a dict label -> 0/1 (used as is). A record without it gets no cats.
    entities_field (str): JSONL: the field holding `[start, end, label]` char offsets.
        A record without it keeps NER annotation missing.
    use_entities (bool): JSONL: read `entities_field` (False: ignore it).
    """

    file_format: FileFormat = "auto"
    exclusive: bool = True
    label_col: ColumnSpec = "auto"
    text_col: Union[None, ColumnSpec, Sequence[ColumnSpec]] = None
    text_sep: str = " "
    header: Optional[bool] = None
    label_sep: str = ","
    label_map: LabelMapArg = None
    labels: Optional[Sequence[str]] = None
    text_field: str = "text"
    label_field: str = "label"
    entities_field: str = "entities"
    use_entities: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice(self.file_format, FORMATS, "format")
        if not self.label_sep and not self.exclusive:
            raise ConversionError("--label-sep must not be empty")


OptionsT = TypeVar("OptionsT", bound=ReadOptions)


def merge_options(
    options: Optional[OptionsT], default: type[OptionsT], fields: dict[str, Any]
) -> OptionsT:
    """The options a reader uses: `options` (or the defaults) with keyword fields replaced.

    options (Optional[OptionsT]): The options given, if any.
    default (Type[OptionsT]): The options class, whose defaults apply when none are given.
    fields (dict): Field values given as keyword arguments; an unknown name is a TypeError.
    RETURNS (OptionsT): The merged, validated options.
    """
    return replace(options if options is not None else default(), **fields)
