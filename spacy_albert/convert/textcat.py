"""Read text classification data (CSV, TSV, JSONL) into spaCy Docs with `doc.cats`.

Every doc that has a label gets the full label set as keys in `doc.cats` (1.0 for the
gold labels, 0.0 for the rest), so spaCy's textcat sees every label. A JSONL record may
also carry entities (`[start, end, label]` char offsets), which become `doc.ents`.
Missing annotation stays missing: a record without a label leaves `doc.cats` empty, and
a record without entities leaves every token's `ent_iob_` at "" (missing), never "O".
The file formats live in `tables.py` (CSV/TSV) and `jsonl.py`, the labels in `labels.py`.
"""

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Optional

from spacy.language import Language
from spacy.tokens import Doc

from .errors import ConversionError, ConversionStats, PathLike, blank_nlp, check_storable
from .jsonl import read_jsonl_records
from .labels import label_set, make_cats, parse_label_map
from .options import FORMATS, TextcatReadOptions, check_choice, merge_options
from .records import TextRecord
from .tables import read_table_records

_SUFFIX_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


def detect_format(path: PathLike, file_format: str = "auto") -> str:
    """Pick the input format from the option or the file suffix.

    path (PathLike): The input file.
    file_format (str): "auto", "csv", "tsv" or "jsonl".
    RETURNS (str): "csv", "tsv" or "jsonl".
    """
    check_choice(file_format, FORMATS, "format")
    if file_format != "auto":
        return file_format
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIX_FORMATS:
        raise ConversionError(
            f"cannot tell the format from the suffix {suffix!r}; pass --format csv, tsv or jsonl",
            path,
        )
    return _SUFFIX_FORMATS[suffix]


def read_textcat(
    path: PathLike,
    options: Optional[TextcatReadOptions] = None,
    *,
    nlp: Optional[Language] = None,
    stats: Optional[ConversionStats] = None,
    **fields: Any,
) -> Iterator[Doc]:
    """Read a text classification file (CSV, TSV or JSONL) as Docs with `doc.cats`.

    The whole file is read and checked before the first doc is yielded, because every
    doc's `cats` needs the full label set.

    path (PathLike): The input file.
    options (Optional[TextcatReadOptions]): How to read it (default:
        `TextcatReadOptions()`).
    nlp (Optional[Language]): A pipeline to tokenize with instead of
        `spacy.blank(options.lang)`.
    stats (Optional[ConversionStats]): Stats to add notes and the label set to.
    **fields: Fields of `TextcatReadOptions` (e.g. `label_field="cats", exclusive=False`),
        overriding those of `options`.
    YIELDS (Doc): One doc per row or record.
    """
    options = merge_options(options, TextcatReadOptions, fields)
    if stats is None:
        stats = ConversionStats()
    file_format = detect_format(path, options.file_format)
    mapping = parse_label_map(options.label_map)
    if file_format == "jsonl":
        records = read_jsonl_records(path, options, stats)
    else:
        delimiter = "," if file_format == "csv" else "\t"
        records = read_table_records(
            path, options, delimiter=delimiter, mapping=mapping, stats=stats
        )
    labels = label_set(records, mapping, options.labels)
    stats.labels = tuple(labels)
    if nlp is None:
        nlp = blank_nlp(options.lang)
    for record in records:
        yield _make_doc(nlp, record, labels, mapping, options.exclusive, path)


def _make_doc(
    nlp: Language,
    record: TextRecord,
    labels: Sequence[str],
    mapping: Optional[dict[str, str]],
    exclusive: bool,
    path: PathLike,
) -> Doc:
    if not record.text.strip():
        raise ConversionError("empty text", path, record.line)
    check_storable(record.text, path, record.line)
    if record.labels:
        check_storable("".join(record.labels), path, record.line)
    if record.entities:
        check_storable("".join(label for _, _, label in record.entities), path, record.line)
    doc = nlp.make_doc(record.text)
    if record.labels is not None:
        doc.cats = make_cats(record, labels, mapping, exclusive, path)
    if record.entities is not None:
        _set_entities(doc, record, path)
    return doc


def _set_entities(doc: Doc, record: TextRecord, path: PathLike) -> None:
    spans = []
    for start, end, label in record.entities or []:
        if not 0 <= start < end <= len(record.text):
            raise ConversionError(
                f"entity [{start}, {end}, {label!r}] is outside the text "
                f"(length {len(record.text)}) or empty",
                path,
                record.line,
            )
        span = doc.char_span(start, end, label=label)
        if span is None:
            tokens = [t.text for t in doc if t.idx < end and t.idx + len(t) > start]
            raise ConversionError(
                f"entity [{start}, {end}, {label!r}] ({record.text[start:end]!r}) does "
                f"not fall on token boundaries (tokens there: {tokens})",
                path,
                record.line,
            )
        spans.append(span)
    try:
        doc.set_ents(spans, default="outside")
    except ValueError as err:
        raise ConversionError(f"bad entities: {err}", path, record.line) from None
