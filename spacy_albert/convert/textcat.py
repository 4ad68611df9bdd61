"""Read text classification data (CSV, TSV, JSONL) into spaCy Docs with `doc.cats`.

Every doc that has a label gets the full label set as keys in `doc.cats` (1.0 for the
gold labels, 0.0 for the rest), so spaCy's textcat sees every label. A JSONL record may
also carry entities (`[start, end, label]` char offsets), which become `doc.ents`.
Missing annotation stays missing: a record without a label leaves `doc.cats` empty, and
a record without entities leaves every token's `ent_iob_` at "" (missing), never "O".
"""

import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from spacy.language import Language
from spacy.tokens import Doc

from .errors import (
    ConversionError,
    ConversionStats,
    PathLike,
    blank_nlp,
    check_storable,
    iter_lines,
)

FORMATS = ("auto", "csv", "tsv", "jsonl")
_SUFFIX_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
# Header cells taken to name the label column when --label-col is "auto".
_LABEL_COLUMN_NAMES = ("label", "labels", "class", "category", "target", "cats", "y")

Labels = Union[list[str], dict[str, float]]
LabelMapArg = Union[None, str, Path, Mapping[str, str]]


@dataclass
class _Record:
    line: int
    text: str
    labels: Optional[Labels]  # None: no label (cats stay missing)
    entities: Optional[list[tuple[int, int, str]]]  # None: no entities (NER stays missing)


def parse_label_map(value: LabelMapArg) -> Optional[dict[str, str]]:
    """Parse a label map from "0:NEGATIVE,1:POSITIVE", a file path or a dict.

    A JSON file holds an object (raw label -> name) or a list of names (index -> name).
    Any other file holds one name per line, the line index (from 0) being the raw label,
    like THUCNews' `class.txt`.

    value (LabelMapArg): The map, a path to a file holding it, or None.
    RETURNS (Optional[Dict[str, str]]): Raw label -> label name, or None for no map.
    """
    if value is None or value == "":
        return None
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    as_path = Path(value)
    if isinstance(value, Path) or as_path.is_file():
        try:
            content = as_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise ConversionError(f"cannot read the label map: {err}", as_path) from None
        if as_path.suffix.lower() == ".json":
            try:
                data = json.loads(content)
            except json.JSONDecodeError as err:
                raise ConversionError(
                    f"bad JSON in the label map: {err.msg}", as_path, err.lineno
                ) from None
            if isinstance(data, list):
                return {str(i): str(name) for i, name in enumerate(data)}
            if isinstance(data, dict):
                return {str(k): str(v) for k, v in data.items()}
            raise ConversionError("a JSON label map must be an object or a list", as_path)
        names = [line.strip() for line in content.splitlines()]
        return {str(i): name for i, name in enumerate(name for name in names if name)}
    mapping: dict[str, str] = {}
    for item in str(value).split(","):
        raw, sep, name = item.partition(":")
        if not sep or not raw.strip() or not name.strip():
            raise ConversionError(
                f"bad --label-map entry {item!r}: expected RAW:NAME pairs separated by "
                "commas (e.g. '0:NEGATIVE,1:POSITIVE'), or a path to a JSON file"
            )
        mapping[raw.strip()] = name.strip()
    return mapping


def detect_format(path: PathLike, file_format: str = "auto") -> str:
    """Pick the input format from the option or the file suffix.

    path (PathLike): The input file.
    file_format (str): "auto", "csv", "tsv" or "jsonl".
    RETURNS (str): "csv", "tsv" or "jsonl".
    """
    if file_format not in FORMATS:
        raise ConversionError(f"unknown format {file_format!r}; choose one of {', '.join(FORMATS)}")
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
    *,
    file_format: str = "auto",
    exclusive: bool = True,
    label_col: Union[str, int] = "auto",
    text_col: Union[None, str, int, Sequence[Union[str, int]]] = None,
    text_sep: str = " ",
    header: Optional[bool] = None,
    label_sep: str = ",",
    label_map: LabelMapArg = None,
    labels: Optional[Sequence[str]] = None,
    text_field: str = "text",
    label_field: str = "label",
    entities_field: str = "entities",
    use_entities: bool = True,
    lang: str = "en",
    nlp: Optional[Language] = None,
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
    stats: Optional[ConversionStats] = None,
) -> Iterator[Doc]:
    """Read a text classification file (CSV, TSV or JSONL) as Docs with `doc.cats`.

    The whole file is read and checked before the first doc is yielded, because every
    doc's `cats` needs the full label set.

    path (PathLike): The input file.
    file_format (str): "csv", "tsv", "jsonl", or "auto" (from the suffix; .txt is TSV).
    exclusive (bool): One label per doc (`textcat`); False for multi-label
        (`textcat_multilabel`).
    label_col (Union[str, int]): CSV/TSV label column: "first", "last", an index (from 0,
        negative from the end), a header name, or "auto" (a header cell named "label",
        "class", ...; else whichever of the first and last column has fewer distinct
        values).
    text_col (Union[None, str, int, Sequence[Union[str, int]]]): CSV/TSV text column(s)
        as index or header name (a str may list several, comma-separated); None: all
        columns but the label column, joined with `text_sep`.
    text_sep (str): What joins several text columns (e.g. AG News title and description).
    header (Optional[bool]): CSV/TSV: whether the first row is a header. None: decide
        from the data (a header's label cell is not a label any other row uses, or not in
        `label_map`); the decision is noted in `stats.notes`.
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
    lang (str): Language of the blank pipeline that tokenizes the texts ("zh": chars).
    nlp (Optional[Language]): A pipeline to tokenize with instead of `spacy.blank(lang)`.
    encoding (str): The text encoding.
    encoding_errors (str): "strict", "replace", "surrogateescape" or "backslashreplace".
    stats (Optional[ConversionStats]): Stats to add notes and the label set to.
    YIELDS (Doc): One doc per row or record.
    """
    if stats is None:
        stats = ConversionStats()
    file_format = detect_format(path, file_format)
    mapping = parse_label_map(label_map)
    if file_format == "jsonl":
        records = _read_jsonl(
            path,
            text_field=text_field,
            label_field=label_field,
            entities_field=entities_field if use_entities else None,
            encoding=encoding,
            encoding_errors=encoding_errors,
            stats=stats,
        )
    else:
        if not label_sep and not exclusive:
            raise ConversionError("--label-sep must not be empty")
        records = _read_table(
            path,
            delimiter="," if file_format == "csv" else "\t",
            exclusive=exclusive,
            label_col=label_col,
            text_col=text_col,
            text_sep=text_sep,
            header=header,
            label_sep=label_sep,
            mapping=mapping,
            encoding=encoding,
            encoding_errors=encoding_errors,
            stats=stats,
        )
    label_set = _label_set(records, mapping, labels)
    stats.labels = tuple(label_set)
    if nlp is None:
        nlp = blank_nlp(lang)
    for record in records:
        yield _make_doc(nlp, record, label_set, mapping, exclusive, path)


def _read_jsonl(
    path: PathLike,
    *,
    text_field: str,
    label_field: str,
    entities_field: Optional[str],
    encoding: str,
    encoding_errors: str,
    stats: ConversionStats,
) -> list[_Record]:
    records = []
    for line_no, line in iter_lines(path, encoding=encoding, encoding_errors=encoding_errors):
        if not line.strip():
            stats.skipped_blank_lines += 1
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            raise ConversionError(
                f"bad JSON: {err.msg} (column {err.colno})", path, line_no
            ) from None
        if not isinstance(data, dict):
            raise ConversionError(
                f"expected a JSON object per line (JSONL), found a JSON {type(data).__name__}",
                path,
                line_no,
            )
        if text_field not in data:
            raise ConversionError(
                f"the record has no {text_field!r} field (fields: {', '.join(data)}); "
                "set --text-field",
                path,
                line_no,
            )
        text = data[text_field]
        if not isinstance(text, str):
            raise ConversionError(
                f"field {text_field!r} must be a string, not {type(text).__name__}", path, line_no
            )
        labels: Optional[Labels] = None
        if data.get(label_field) is not None:
            labels = _json_labels(data[label_field], label_field, path, line_no)
        entities = None
        if entities_field is not None and data.get(entities_field) is not None:
            entities = _json_entities(data[entities_field], entities_field, path, line_no)
        records.append(_Record(line_no, text, labels, entities))
    return records


def _json_labels(value: object, field: str, path: PathLike, line: int) -> Labels:
    if isinstance(value, bool):
        raise ConversionError(f"field {field!r}: a label cannot be true/false", path, line)
    if isinstance(value, (str, int)):
        return [str(value)]
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, (str, int)):
                raise ConversionError(
                    f"field {field!r}: labels in a list must be strings, found {item!r}",
                    path,
                    line,
                )
            out.append(str(item))
        return out
    if isinstance(value, dict):
        cats: dict[str, float] = {}
        for label, score in value.items():
            if isinstance(score, bool):
                score = float(score)
            if not isinstance(score, (int, float)) or not 0.0 <= score <= 1.0:
                raise ConversionError(
                    f"field {field!r}: the value of {label!r} must be a number from 0 to 1, "
                    f"found {score!r}",
                    path,
                    line,
                )
            cats[str(label)] = float(score)
        return cats
    raise ConversionError(
        f"field {field!r} must be a string, a list of strings or an object label -> 0/1, "
        f"found {type(value).__name__}",
        path,
        line,
    )


def _json_entities(
    value: object, field: str, path: PathLike, line: int
) -> list[tuple[int, int, str]]:
    if not isinstance(value, list):
        raise ConversionError(
            f"field {field!r} must be a list of [start, end, label], found {type(value).__name__}",
            path,
            line,
        )
    entities = []
    for item in value:
        if (
            not isinstance(item, (list, tuple))
            or len(item) != 3
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in item[:2])
            or not isinstance(item[2], str)
            or not item[2]
        ):
            raise ConversionError(
                f"field {field!r}: expected [start, end, label] (two ints and a label), "
                f"found {item!r}",
                path,
                line,
            )
        entities.append((item[0], item[1], item[2]))
    return entities


def _resolve_col(
    spec: Union[str, int],
    header_row: Optional[list[str]],
    n_cols: int,
    what: str,
    path: PathLike,
    line: int,
) -> int:
    if isinstance(spec, str):
        spec = spec.strip()
        if spec == "first":
            return 0
        if spec == "last":
            return n_cols - 1
        try:
            spec = int(spec)
        except ValueError:
            if header_row is None:
                raise ConversionError(
                    f"{what} {spec!r} is a column name, but the file has no header row "
                    "(--no-header); give the column index instead",
                    path,
                    line,
                ) from None
            names = [cell.strip() for cell in header_row]
            if spec not in names:
                raise ConversionError(
                    f"{what} {spec!r} is not in the header row ({', '.join(names)})", path, line
                ) from None
            return names.index(spec)
    index = spec + n_cols if spec < 0 else spec
    if not 0 <= index < n_cols:
        raise ConversionError(
            f"{what} {spec} is out of range: the file has {n_cols} column(s)", path, line
        )
    return index


def _is_name(spec: Union[None, str, int]) -> bool:
    if not isinstance(spec, str) or spec in ("auto", "first", "last"):
        return False
    try:
        int(spec)
    except ValueError:
        return True
    return False


def _split_label_cell(cell: str, exclusive: bool, label_sep: str) -> list[str]:
    cell = cell.strip()
    if exclusive:
        return [cell] if cell else []
    return [part.strip() for part in cell.split(label_sep) if part.strip()]


def _read_rows(
    path: PathLike, delimiter: str, encoding: str, encoding_errors: str, stats: ConversionStats
) -> list[tuple[int, list[str]]]:
    rows: list[tuple[int, list[str]]] = []
    lines = iter_lines(path, encoding=encoding, encoding_errors=encoding_errors, keepends=True)
    if delimiter == "\t":
        for line_no, line in lines:
            line = line.rstrip("\r\n")
            if not line.strip():
                stats.skipped_blank_lines += 1
                continue
            rows.append((line_no, line.split("\t")))
        return rows
    reader = csv.reader((line for _, line in lines), delimiter=delimiter, strict=True)
    last = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            where = "" if reader.line_num == last + 1 else f" (read up to line {reader.line_num})"
            raise ConversionError(
                f"bad CSV in the record that starts here: {err}{where}", path, last + 1
            ) from None
        start, last = last + 1, reader.line_num
        if not row or not any(cell.strip() for cell in row):
            stats.skipped_blank_lines += 1
            continue
        rows.append((start, [cell.replace("\r\n", "\n") for cell in row]))
    return rows


def _looks_like_header(
    rows: list[tuple[int, list[str]]],
    label_index: int,
    exclusive: bool,
    label_sep: str,
    mapping: Optional[dict[str, str]],
) -> bool:
    """Guess whether the first row is a header: its label cell is no label (not in the
    map, or used by no other row, and not a number where the labels are numbers), and its
    other cells are single words (column names), not texts."""
    if len(rows) < 2:
        return False  # a header alone holds no data; take the row as data
    first = rows[0][1]
    first_labels = _split_label_cell(first[label_index], exclusive, label_sep)
    if not first_labels:
        return False
    if mapping is not None:
        return any(label not in mapping for label in first_labels)
    seen: set = set()
    for _, row in rows[1:]:
        seen.update(_split_label_cell(row[label_index], exclusive, label_sep))
    if any(label in seen for label in first_labels):
        return False
    if all(label.lstrip("-").isdigit() for label in first_labels + sorted(seen)):
        return False
    names = [cell.strip() for i, cell in enumerate(first) if i != label_index]
    return all(name and len(name) <= 40 and len(name.split()) == 1 for name in names)


def _read_table(
    path: PathLike,
    *,
    delimiter: str,
    exclusive: bool,
    label_col: Union[str, int],
    text_col: Union[None, str, int, Sequence[Union[str, int]]],
    text_sep: str,
    header: Optional[bool],
    label_sep: str,
    mapping: Optional[dict[str, str]],
    encoding: str,
    encoding_errors: str,
    stats: ConversionStats,
) -> list[_Record]:
    rows = _read_rows(path, delimiter, encoding, encoding_errors, stats)
    if not rows:
        return []
    first_line, first_row = rows[0]
    n_cols = len(first_row)
    for line_no, row in rows[1:]:
        if len(row) != n_cols:
            raise ConversionError(
                f"expected {n_cols} columns (as on line {first_line}), found {len(row)}",
                path,
                line_no,
            )
    if n_cols < 2:
        raise ConversionError(
            "expected at least 2 columns, a label and a text, separated by "
            + (
                "a tab (for a CSV file pass --format csv)"
                if delimiter == "\t"
                else "a comma (for a TSV file pass --format tsv)"
            ),
            path,
            first_line,
        )
    if text_col is None:
        text_specs: list[Union[str, int]] = []
    elif isinstance(text_col, (str, int)):
        text_specs = [s for s in str(text_col).split(",") if s.strip()]
    else:
        text_specs = list(text_col)
    if _is_name(label_col) or any(_is_name(s) for s in text_specs):
        if header is False:
            raise ConversionError(
                "a column is given by name but --no-header says there is no header row"
            )
        header = True
    # Which column holds the labels.
    if label_col == "auto":
        names = [cell.strip().lower() for cell in first_row]
        named = [i for i, name in enumerate(names) if name in _LABEL_COLUMN_NAMES]
        if header is not False and named:
            label_index = named[0]
            how = f"its header cell is {first_row[label_index].strip()!r}"
            if header is None:
                header = True
                stats.notes.append(
                    f"Line {first_line} taken as a header "
                    f"({' | '.join(c.strip() for c in first_row)}); set --no-header if it is data."
                )
        else:
            # Labels repeat and are short: take whichever of the first and last column has
            # fewer distinct values, then the shorter values (the first row may be a header).
            sample = rows[1:] if len(rows) > 1 else rows
            keys = {}
            for index in (0, n_cols - 1):
                values = [row[index].strip() for _, row in sample]
                keys[index] = (len(set(values)), sum(map(len, values)) / len(values))
            label_index = min(keys, key=lambda index: keys[index])
            other = n_cols - 1 if label_index == 0 else 0
            how = (
                f"it has fewer distinct or shorter values ({keys[label_index][0]} distinct) "
                f"than column {other} ({keys[other][0]} distinct)"
            )
        stats.notes.append(
            f"Label column: {label_index} ({how}); set --label-col to choose another."
        )
    else:
        label_index = _resolve_col(
            label_col, first_row if header else None, n_cols, "--label-col", path, first_line
        )
    # Whether the first row is a header.
    if header is None:
        header = _looks_like_header(rows, label_index, exclusive, label_sep, mapping)
        stats.notes.append(
            f"Line {first_line} "
            + (
                f"taken as a header ({' | '.join(c.strip() for c in first_row)})"
                if header
                else "taken as data (no header)"
            )
            + "; set --header or --no-header to choose."
        )
    header_row = first_row if header else None
    if text_specs:
        text_indices = [
            _resolve_col(s, header_row, n_cols, "--text-col", path, first_line) for s in text_specs
        ]
        if label_index in text_indices:
            raise ConversionError(
                f"column {label_index} is both the label column and a text column"
            )
    else:
        text_indices = [i for i in range(n_cols) if i != label_index]
    data_rows = rows[1:] if header else rows
    records = []
    for line_no, row in data_rows:
        text = text_sep.join(row[i].strip() for i in text_indices if row[i].strip())
        labels = _split_label_cell(row[label_index], exclusive, label_sep)
        if exclusive and not labels:
            raise ConversionError(f"empty label in column {label_index}", path, line_no)
        records.append(_Record(line_no, text, labels, None))
    return records


def _map_label(label: str, mapping: Optional[dict[str, str]], path: PathLike, line: int) -> str:
    if mapping is None:
        return label
    if label not in mapping:
        raise ConversionError(
            f"label {label!r} is not in --label-map (raw labels: {', '.join(mapping)})",
            path,
            line,
        )
    return mapping[label]


def _label_set(
    records: list[_Record],
    mapping: Optional[dict[str, str]],
    labels: Optional[Sequence[str]],
) -> list[str]:
    if labels:
        return list(dict.fromkeys(labels))
    if mapping is not None:
        return list(dict.fromkeys(mapping.values()))
    seen = set()
    for record in records:
        if record.labels is not None:
            seen.update(record.labels)
    if all(label.lstrip("-").isdigit() for label in seen):
        return sorted(seen, key=int)
    return sorted(seen)


def _make_doc(
    nlp: Language,
    record: _Record,
    label_set: list[str],
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
        doc.cats = _make_cats(record, label_set, mapping, exclusive, path)
    if record.entities is not None:
        spans = []
        for start, end, label in record.entities:
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
    return doc


def _make_cats(
    record: _Record,
    label_set: list[str],
    mapping: Optional[dict[str, str]],
    exclusive: bool,
    path: PathLike,
) -> dict[str, float]:
    cats = {label: 0.0 for label in label_set}
    if isinstance(record.labels, dict):
        given = {_map_label(k, mapping, path, record.line): v for k, v in record.labels.items()}
    else:
        given = {_map_label(k, mapping, path, record.line): 1.0 for k in record.labels or []}
    for label, value in given.items():
        if label not in cats:
            raise ConversionError(
                f"label {label!r} is not in the label set ({', '.join(label_set)})",
                path,
                record.line,
            )
        cats[label] = value
    if exclusive:
        positives = [label for label, value in cats.items() if value == 1.0]
        others = [label for label, value in cats.items() if value not in (0.0, 1.0)]
        if len(positives) != 1 or others:
            raise ConversionError(
                "exclusive classes need exactly one label at 1.0 and the rest at 0.0, "
                f"found {given}; pass --multilabel for multi-label data",
                path,
                record.line,
            )
    return cats
