"""`python -m spacy_albert convert ...`: NER and text classification data to `.spacy` files."""

import sys
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer
from spacy.tokens import Doc
from wasabi import msg

from ..convert import (
    ConversionError,
    ConversionStats,
    read_char_bio,
    read_conll,
    read_textcat,
    write_docbin,
)
from ..convert.errors import resolve_output_path
from ._app import app

convert_app = typer.Typer(
    help=(
        "Convert NER and text classification data to spaCy's binary .spacy format "
        "(DocBin), ready for `spacy train`. Bad input stops the conversion with the file "
        "and line; no partial output file is left."
    ),
    no_args_is_help=True,
)
app.add_typer(convert_app, name="convert")


class Scheme(str, Enum):
    auto = "auto"
    iob1 = "iob1"
    iob2 = "iob2"
    bioes = "bioes"
    bilou = "bilou"
    bmes = "bmes"


class Separator(str, Enum):
    auto = "auto"
    tab = "tab"
    whitespace = "whitespace"


class EncodingErrors(str, Enum):
    strict = "strict"
    replace = "replace"
    surrogateescape = "surrogateescape"
    backslashreplace = "backslashreplace"


class Format(str, Enum):
    auto = "auto"
    csv = "csv"
    tsv = "tsv"
    jsonl = "jsonl"


# Options shared by the commands, declared once (typer reads the `Annotated` metadata).
OutputPath = Annotated[
    Path,
    typer.Argument(
        help="Output .spacy file, or an existing directory to write <input stem>.spacy into"
    ),
]
Encoding = Annotated[str, typer.Option("--encoding", help="Text encoding of the input file")]
EncodingErrorsOption = Annotated[
    EncodingErrors,
    typer.Option(
        "--encoding-errors",
        help="What to do with bytes that are invalid in --encoding: stop with the line number "
        "(strict), write U+FFFD (replace), keep them as escapes (surrogateescape; spaCy "
        "cannot store these, so the line is reported) or write them as \\xNN (backslashreplace)",
    ),
]
SchemeOption = Annotated[
    Scheme,
    typer.Option(
        "--scheme",
        help="Tag scheme. auto accepts IOB1, IOB2, BIOES/BILOU and BMES (I- after O starts an "
        "entity, as in IOB1); a named scheme also checks the tags strictly against it",
    ),
]
WordCol = Annotated[
    int,
    typer.Option(
        "--word-col", help="Column of the token text (from 0; negative counts from the end)"
    ),
]
TagCol = Annotated[
    int,
    typer.Option("--tag-col", help="Column of the NER tag (from 0; negative counts from the end)"),
]
SeparatorOption = Annotated[
    Separator,
    typer.Option(
        "--sep",
        help="Column separator: auto (tabs if the line has one, else spaces), tab or whitespace",
    ),
]
_LANG_HELP = "Language of the blank pipeline whose vocab the docs use"


def _run(
    docs_fn: Callable[[ConversionStats], Iterable[Doc]],
    input_path: Path,
    output_path: Path,
    task: str,
) -> None:
    stats = ConversionStats()
    try:
        output_path = resolve_output_path(output_path, input_path)
        write_docbin(docs_fn(stats), output_path, stats=stats)
    except ConversionError as err:
        msg.fail("Conversion failed", str(err))
        sys.exit(1)
    except OSError as err:
        msg.fail("Conversion failed", f"cannot write {output_path}: {err}")
        sys.exit(1)
    _report(stats, output_path, task)


def _report(stats: ConversionStats, output_path: Path, task: str) -> None:
    for note in stats.notes:
        msg.info(note)
    msg.good(f"Wrote {stats.n_docs:,} docs ({stats.n_tokens:,} tokens) to {output_path}")
    if task == "ner":
        msg.text(
            f"Sentences: {stats.n_sents:,}. Skipped document separators (-DOCSTART-): "
            f"{stats.skipped_separators:,}."
        )
    if stats.skipped_blank_lines:
        msg.text(f"Skipped blank lines: {stats.skipped_blank_lines:,}.")
    if stats.n_docs_with_ents or task == "ner":
        rows = [(label, f"{n:,}") for label, n in sorted(stats.ents.items())]
        rows.append(("total", f"{sum(stats.ents.values()):,}"))
        if stats.n_docs_with_ents < stats.n_docs:
            msg.text(
                f"Docs with NER annotation: {stats.n_docs_with_ents:,} of {stats.n_docs:,} "
                "(the others have it missing)"
            )
        msg.table(rows, header=("Entity label", "Entities"), divider=True)
    if task == "textcat":
        rows = [(label, f"{stats.cats.get(label, 0):,}") for label in stats.labels]
        if stats.n_docs_with_cats < stats.n_docs:
            msg.text(
                f"Docs with cats: {stats.n_docs_with_cats:,} of {stats.n_docs:,} "
                "(the others have them missing)"
            )
        msg.table(rows, header=("Category", "Docs with it"), divider=True)


def _split_list(value: Optional[str]) -> Optional[list[str]]:
    if not value:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


_CONLL_HELP = (
    "Convert NER data in CoNLL column format to a .spacy file.\n\n"
    "One token per line, a blank or whitespace-only line between sentences (CoNLL-2003, "
    "WNUT, Resume NER); -DOCSTART- lines separate documents and never become docs. Tags "
    "may be IOB1, IOB2, BIOES/BILOU or BMES. Every token gets an entity tag (O outside "
    "entities); the docs have no cats.\n\n"
    "Example: python -m spacy_albert convert conll train.txt train.spacy --n-sents 10"
)
_CHAR_BIO_HELP = (
    "Convert character-level NER (Chinese, one char per line) to a .spacy file.\n\n"
    "Each doc's tokens are exactly the file's characters, with no spaces between them, as "
    "spaCy's default zh tokenizer (the char segmenter) gives for CJK text. Tags may be BIO, "
    "BIOES or BMES. The original Weibo NER files are not valid UTF-8: pass "
    "--encoding-errors replace for them.\n\n"
    "Example: python -m spacy_albert convert char-bio weiboNER_2nd_conll.train train.spacy "
    "--strip-position-digits"
)
_TEXTCAT_HELP = (
    "Convert text classification data (CSV, TSV, JSONL) to a .spacy file.\n\n"
    "Every doc with a label gets all labels as keys in doc.cats (1.0 for its labels, 0.0 "
    "for the rest). JSONL records may also carry entities, which become doc.ents; without "
    "them the NER annotation stays missing (not O), so one corpus can train textcat and "
    "ner together.\n\n"
    "Example: python -m spacy_albert convert textcat train.tsv train.spacy "
    "--label-map 0:NEGATIVE,1:POSITIVE"
)


@convert_app.command("conll", help=_CONLL_HELP)
def convert_conll_cli(
    input_path: Annotated[
        Path,
        typer.Argument(
            help="Input file in CoNLL column format (CoNLL-2003, WNUT, Resume NER)",
            exists=True,
            dir_okay=False,
        ),
    ],
    output_path: OutputPath,
    word_col: WordCol = 0,
    tag_col: TagCol = -1,
    scheme: SchemeOption = Scheme.auto,
    sep: SeparatorOption = Separator.auto,
    n_sents: int = typer.Option(
        1, "--n-sents", "-n", help="Sentences per doc; docs never span a -DOCSTART- line", min=1
    ),
    lang: str = typer.Option("en", "--lang", help=_LANG_HELP),
    encoding: Encoding = "utf-8",
    encoding_errors: EncodingErrorsOption = EncodingErrors.strict,
) -> None:
    """Convert NER data in CoNLL column format to a .spacy file (help: `_CONLL_HELP`)."""
    _run(
        lambda stats: read_conll(
            input_path,
            word_col=word_col,
            tag_col=tag_col,
            scheme=scheme.value,
            sep=sep.value,
            n_sents=n_sents,
            lang=lang,
            encoding=encoding,
            encoding_errors=encoding_errors.value,
            stats=stats,
        ),
        input_path,
        output_path,
        "ner",
    )


@convert_app.command("char-bio", help=_CHAR_BIO_HELP)
def convert_char_bio_cli(
    input_path: Annotated[
        Path,
        typer.Argument(
            help="Input file: one character per line, CHAR<TAB>TAG (Weibo NER style)",
            exists=True,
            dir_okay=False,
        ),
    ],
    output_path: OutputPath,
    strip_position_digits: bool = typer.Option(
        False,
        "--strip-position-digits",
        help="Strip the position digits that the revised Weibo files append to each char "
        "(科0 -> 科, 20 -> 2)",
    ),
    scheme: SchemeOption = Scheme.auto,
    word_col: WordCol = 0,
    tag_col: TagCol = -1,
    sep: SeparatorOption = Separator.auto,
    n_sents: int = typer.Option(1, "--n-sents", "-n", help="Sentences (messages) per doc", min=1),
    lang: str = typer.Option("zh", "--lang", help=_LANG_HELP),
    encoding: Encoding = "utf-8",
    encoding_errors: EncodingErrorsOption = EncodingErrors.strict,
) -> None:
    """Convert character-level NER to a .spacy file (help: `_CHAR_BIO_HELP`)."""
    _run(
        lambda stats: read_char_bio(
            input_path,
            strip_position_digits=strip_position_digits,
            scheme=scheme.value,
            word_col=word_col,
            tag_col=tag_col,
            sep=sep.value,
            n_sents=n_sents,
            lang=lang,
            encoding=encoding,
            encoding_errors=encoding_errors.value,
            stats=stats,
        ),
        input_path,
        output_path,
        "ner",
    )


@convert_app.command("textcat", help=_TEXTCAT_HELP)
def convert_textcat_cli(
    input_path: Annotated[
        Path, typer.Argument(help="Input file: CSV, TSV or JSONL", exists=True, dir_okay=False)
    ],
    output_path: OutputPath,
    file_format: Format = typer.Option(
        Format.auto,
        "--format",
        help="Input format; auto goes by the suffix (.csv, .tsv/.txt, .jsonl/.json)",
    ),
    exclusive: bool = typer.Option(
        True,
        "--exclusive/--multilabel",
        help="One label per doc (textcat), or any number (textcat_multilabel)",
    ),
    label_col: str = typer.Option(
        "auto",
        "--label-col",
        help="CSV/TSV label column: first, last, an index, a header name, or auto (a header "
        "cell named label/class/...; else whichever of first and last has fewer distinct "
        "values)",
    ),
    text_col: Optional[str] = typer.Option(
        None,
        "--text-col",
        help="CSV/TSV text column(s), by index or header name, comma-separated (default: all "
        "but the label column)",
    ),
    text_sep: str = typer.Option(" ", "--text-sep", help="What joins several text columns"),
    header: Optional[bool] = typer.Option(
        None,
        "--header/--no-header",
        help="CSV/TSV: whether the first row is a header (default: decided from the data, "
        "and reported)",
        show_default=False,
    ),
    label_sep: str = typer.Option(
        ",", "--label-sep", help="CSV/TSV with --multilabel: what separates the labels in a cell"
    ),
    label_map: Optional[str] = typer.Option(
        None,
        "--label-map",
        help="Raw label to name, e.g. '0:NEGATIVE,1:POSITIVE', or a JSON file (object, or "
        "list of names), or a text file with one name per line (line 0 = label 0). A label "
        "not in the map is an error",
    ),
    labels: Optional[str] = typer.Option(
        None,
        "--labels",
        help="The full label set, comma-separated, so dev/test get the same cats keys as "
        "train (default: the map's names, or the sorted labels seen)",
    ),
    text_field: str = typer.Option("text", "--text-field", help="JSONL: field with the text"),
    label_field: str = typer.Option(
        "label",
        "--label-field",
        help="JSONL: field with the label: a str (one label), a list (labels) or an object "
        "label -> 0/1. Records without it get no cats",
    ),
    entities_field: str = typer.Option(
        "entities",
        "--entities-field",
        help="JSONL: field with the entities, a list of start, end, label triples (char "
        "offsets). Records without it keep NER annotation missing",
    ),
    no_entities: bool = typer.Option(
        False, "--no-entities", help="JSONL: ignore the entities field"
    ),
    lang: str = typer.Option(
        "en",
        "--lang",
        help="Language of the blank pipeline that tokenizes the texts (zh: one token per "
        "character)",
    ),
    encoding: Encoding = "utf-8",
    encoding_errors: EncodingErrorsOption = EncodingErrors.strict,
) -> None:
    """Convert text classification data to a .spacy file (help: `_TEXTCAT_HELP`)."""
    _run(
        lambda stats: read_textcat(
            input_path,
            file_format=file_format.value,
            exclusive=exclusive,
            label_col=label_col,
            text_col=text_col,
            text_sep=text_sep,
            header=header,
            label_sep=label_sep,
            label_map=label_map,
            labels=_split_list(labels),
            text_field=text_field,
            label_field=label_field,
            entities_field=entities_field,
            use_entities=not no_entities,
            lang=lang,
            encoding=encoding,
            encoding_errors=encoding_errors.value,
            stats=stats,
        ),
        input_path,
        output_path,
        "textcat",
    )
