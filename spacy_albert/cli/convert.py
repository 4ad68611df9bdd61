"""`python -m spacy_albert convert ...`: NER and text classification data to `.spacy` files."""

import sys
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Annotated, Callable, Literal, Optional

import typer
from spacy.tokens import Doc
from wasabi import msg

from ..convert import (
    CharBioReadOptions,
    ConversionError,
    ConversionStats,
    NerReadOptions,
    TextcatReadOptions,
    read_char_bio,
    read_conll,
    read_textcat,
    write_docbin,
)
from ..convert.errors import EncodingErrors, resolve_output_path
from ..convert.options import FileFormat, ReadOptions, Scheme, Separator
from ._app import app

# How many repairs the report lists one by one; the total is always printed.
REPAIRS_SHOWN = 20

convert_app = typer.Typer(
    help=(
        "Convert NER and text classification data to spaCy's binary .spacy format "
        "(DocBin), ready for `spacy train`. Bad input stops the conversion with the file "
        "and line; no partial output file is left."
    ),
    no_args_is_help=True,
)
app.add_typer(convert_app, name="convert")

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
        "entity, as in IOB1); a named scheme also checks the tags against it",
    ),
]
StrictOption = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="Refuse a malformed tag sequence, naming its file:line. Default: repair it and "
        "list the repair. The repair: an I-/M-/E- tag that continues no entity (after O, "
        "another type, or a sentence break) starts a new entity, as in IOB1 (a lone E- is a "
        "one-token entity); a BIOES/BMES entity without E- ends at its last token",
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
    make_options: Callable[[], ReadOptions],
    reader: Callable[..., Iterable[Doc]],
    input_path: Path,
    output_path: Path,
    task: Literal["ner", "textcat"],
) -> None:
    """Build the options, read, write and report; a ConversionError exits with status 1."""
    stats = ConversionStats()
    try:
        output_path = resolve_output_path(output_path, input_path)
        docs = reader(input_path, make_options(), stats=stats)
        write_docbin(docs, output_path, stats=stats)
    except ConversionError as err:
        msg.fail("Conversion failed", str(err))
        sys.exit(1)
    except OSError as err:
        msg.fail("Conversion failed", f"cannot write {output_path}: {err}")
        sys.exit(1)
    for note in stats.notes:
        msg.info(note)
    msg.good(f"Wrote {stats.n_docs:,} docs ({stats.n_tokens:,} tokens) to {output_path}")
    if task == "ner":
        _report_ner(stats)
    else:
        _report_textcat(stats)


def _report_ner(stats: ConversionStats) -> None:
    msg.text(
        f"Sentences: {stats.n_sents:,} read, {stats.n_sents_written:,} in the docs written. "
        f"Skipped document separators (-DOCSTART-): {stats.skipped_separators:,}."
    )
    if stats.n_sents_written != stats.n_sents:
        msg.warn("The docs hold a different number of sentences than were read")
    if stats.repairs:
        msg.warn(
            f"Repaired {len(stats.repairs):,} malformed tag sequence(s) (--strict refuses "
            "them): a tag that continues no entity starts a new one, as in IOB1; an entity "
            "without E- ends at its last token"
        )
        for repair in stats.repairs[:REPAIRS_SHOWN]:
            typer.echo(f"  {repair}")  # one line each, unwrapped: path:line stays clickable
        if len(stats.repairs) > REPAIRS_SHOWN:
            typer.echo(f"  ... and {len(stats.repairs) - REPAIRS_SHOWN:,} more")
    n_ents = sum(stats.ents.values())
    msg.text(
        f"Entities: {n_ents:,} written; {n_ents - stats.n_ents_repaired:,} begun by the "
        f"file's tags (B-, S-/U-, or I- as in IOB1), {stats.n_ents_repaired:,} by a repair."
    )
    _report_ents(stats)


def _report_ents(stats: ConversionStats) -> None:
    if stats.n_docs_with_ents < stats.n_docs:
        msg.text(
            f"Docs with NER annotation: {stats.n_docs_with_ents:,} of {stats.n_docs:,} "
            "(the others have it missing)"
        )
    rows = [(label, f"{n:,}") for label, n in sorted(stats.ents.items())]
    rows.append(("total", f"{sum(stats.ents.values()):,}"))
    msg.table(rows, header=("Entity label", "Entities"), divider=True)


def _report_textcat(stats: ConversionStats) -> None:
    if stats.skipped_blank_lines:
        msg.text(f"Skipped blank lines: {stats.skipped_blank_lines:,}.")
    if stats.n_docs_with_ents:
        _report_ents(stats)
    if stats.n_docs_with_cats < stats.n_docs:
        msg.text(
            f"Docs with cats: {stats.n_docs_with_cats:,} of {stats.n_docs:,} "
            "(the others have them missing)"
        )
    rows = [(label, f"{stats.cats.get(label, 0):,}") for label in stats.labels]
    msg.table(rows, header=("Category", "Docs with it"), divider=True)


def _split_list(value: Optional[str]) -> Optional[list[str]]:
    if not value:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


_REPAIR_HELP = (
    "Malformed tag sequences, such as an entity that runs across a sentence break, are "
    "repaired and each repair is listed with its file:line: a tag that continues no entity "
    "starts a new entity, as in IOB1; --strict refuses them instead."
)
_CONLL_HELP = (
    "Convert NER data in CoNLL column format to a .spacy file.\n\n"
    "One token per line, a blank or whitespace-only line between sentences (CoNLL-2003, "
    "WNUT, Resume NER); -DOCSTART- lines separate documents and never become docs. Tags "
    "may be IOB1, IOB2, BIOES/BILOU or BMES. Every token gets an entity tag (O outside "
    f"entities); the docs have no cats. {_REPAIR_HELP}\n\n"
    "Example: python -m spacy_albert convert conll train.txt train.spacy --n-sents 10"
)
_CHAR_BIO_HELP = (
    "Convert character-level NER (Chinese, one char per line) to a .spacy file.\n\n"
    "Each doc's tokens are exactly the file's characters, with no spaces between them, as "
    "spaCy's default zh tokenizer (the char segmenter) gives for CJK text. Tags may be BIO, "
    f"BIOES or BMES. {_REPAIR_HELP} The original Weibo NER files are not valid UTF-8: pass "
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
    scheme: SchemeOption = "auto",
    strict: StrictOption = False,
    sep: SeparatorOption = "auto",
    n_sents: int = typer.Option(
        1, "--n-sents", "-n", help="Sentences per doc; docs never span a -DOCSTART- line", min=1
    ),
    lang: str = typer.Option("en", "--lang", help=_LANG_HELP),
    encoding: Encoding = "utf-8",
    encoding_errors: EncodingErrorsOption = "strict",
) -> None:
    """Convert NER data in CoNLL column format to a .spacy file (help: `_CONLL_HELP`)."""
    options = partial(
        NerReadOptions,
        word_col=word_col,
        tag_col=tag_col,
        scheme=scheme,
        strict=strict,
        sep=sep,
        n_sents=n_sents,
        lang=lang,
        encoding=encoding,
        encoding_errors=encoding_errors,
    )
    _run(options, read_conll, input_path, output_path, "ner")


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
    scheme: SchemeOption = "auto",
    strict: StrictOption = False,
    word_col: WordCol = 0,
    tag_col: TagCol = -1,
    sep: SeparatorOption = "auto",
    n_sents: int = typer.Option(1, "--n-sents", "-n", help="Sentences (messages) per doc", min=1),
    lang: str = typer.Option("zh", "--lang", help=_LANG_HELP),
    encoding: Encoding = "utf-8",
    encoding_errors: EncodingErrorsOption = "strict",
) -> None:
    """Convert character-level NER to a .spacy file (help: `_CHAR_BIO_HELP`)."""
    options = partial(
        CharBioReadOptions,
        strip_position_digits=strip_position_digits,
        scheme=scheme,
        strict=strict,
        word_col=word_col,
        tag_col=tag_col,
        sep=sep,
        n_sents=n_sents,
        lang=lang,
        encoding=encoding,
        encoding_errors=encoding_errors,
    )
    _run(options, read_char_bio, input_path, output_path, "ner")


@convert_app.command("textcat", help=_TEXTCAT_HELP)
def convert_textcat_cli(
    input_path: Annotated[
        Path, typer.Argument(help="Input file: CSV, TSV or JSONL", exists=True, dir_okay=False)
    ],
    output_path: OutputPath,
    file_format: FileFormat = typer.Option(
        "auto",
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
    encoding_errors: EncodingErrorsOption = "strict",
) -> None:
    """Convert text classification data to a .spacy file (help: `_TEXTCAT_HELP`)."""
    options = partial(
        TextcatReadOptions,
        file_format=file_format,
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
        encoding_errors=encoding_errors,
    )
    _run(options, read_textcat, input_path, output_path, "textcat")
