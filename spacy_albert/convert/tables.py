"""Read CSV and TSV text classification files: find the label column, the text columns and
whether the first row is a header, and report each guess in the stats' notes."""

import csv
from collections.abc import Sequence
from typing import Optional

from .errors import ConversionError, ConversionStats, PathLike, iter_lines
from .options import ColumnSpec, TextcatReadOptions
from .records import TextRecord

# Header cells taken to name the label column when `label_col` is "auto".
LABEL_COLUMN_NAMES = ("label", "labels", "class", "category", "target", "cats", "y")
# (1-based line where the row starts, its cells)
Row = tuple[int, list[str]]


def read_table_records(
    path: PathLike,
    options: TextcatReadOptions,
    *,
    delimiter: str,
    mapping: Optional[dict[str, str]],
    stats: ConversionStats,
) -> list[TextRecord]:
    """Read every row of a CSV or TSV file as a record (blank rows skipped).

    path (PathLike): The input file.
    options (TextcatReadOptions): The columns, header, label separator and encoding.
    delimiter (str): "," (CSV, quoted cells allowed) or "\\t" (TSV, no quoting).
    mapping (Optional[Dict[str, str]]): The label map, which tells a header row from data.
    stats (ConversionStats): Stats to add notes (the guesses made) and skipped lines to.
    RETURNS (List[TextRecord]): The records, in file order.
    """
    rows = _read_rows(path, delimiter, options, stats)
    if not rows:
        return []
    first_line, first_row = rows[0]
    n_cols = _check_columns(rows, delimiter, path)
    text_specs = _text_specs(options.text_col)
    header = options.header
    if _is_name(options.label_col) or any(_is_name(spec) for spec in text_specs):
        if header is False:
            raise ConversionError(
                "a column is given by name but --no-header says there is no header row"
            )
        header = True
    if options.label_col == "auto":
        label_index, header = _guess_label_column(rows, header, stats)
    else:
        header_row = first_row if header else None
        label_index = _resolve_col(
            options.label_col, header_row, n_cols, "--label-col", path, first_line
        )
    if header is None:
        header = looks_like_header(rows, label_index, options.exclusive, options.label_sep, mapping)
        cells = " | ".join(cell.strip() for cell in first_row)
        taken = f"taken as a header ({cells})" if header else "taken as data (no header)"
        stats.notes.append(f"Line {first_line} {taken}; set --header or --no-header to choose.")
    header_row = first_row if header else None
    if text_specs:
        text_indices = [
            _resolve_col(spec, header_row, n_cols, "--text-col", path, first_line)
            for spec in text_specs
        ]
        if label_index in text_indices:
            raise ConversionError(
                f"column {label_index} is both the label column and a text column"
            )
    else:
        text_indices = [i for i in range(n_cols) if i != label_index]
    records = []
    for line_no, row in rows[1:] if header else rows:
        text = options.text_sep.join(row[i].strip() for i in text_indices if row[i].strip())
        labels = split_label_cell(row[label_index], options.exclusive, options.label_sep)
        if options.exclusive and not labels:
            raise ConversionError(f"empty label in column {label_index}", path, line_no)
        records.append(TextRecord(line_no, text, labels, None))
    return records


def split_label_cell(cell: str, exclusive: bool, label_sep: str) -> list[str]:
    """The labels in a label cell.

    cell (str): The cell.
    exclusive (bool): The cell holds one label (no splitting).
    label_sep (str): What separates labels when not `exclusive`.
    RETURNS (List[str]): The labels, stripped; empty for an empty cell.
    """
    cell = cell.strip()
    if exclusive:
        return [cell] if cell else []
    return [part.strip() for part in cell.split(label_sep) if part.strip()]


def looks_like_header(
    rows: Sequence[Row],
    label_index: int,
    exclusive: bool,
    label_sep: str,
    mapping: Optional[dict[str, str]],
) -> bool:
    """Guess whether the first row is a header, from its label cell.

    It is a header when its label is not in the label map; without a map, when its label
    is used by no other row, is not a number where the labels are numbers, and its other
    cells are single words (column names), not texts.

    `csv.Sniffer().has_header` does not fit: it votes per column on cells that share one
    type or one length, so a text column and a label column of words with different
    lengths ("spam", "ham") give it no vote and it answers "no header" for such files
    (tests/convert/test_tables.py::test_header_found_where_csv_sniffer_misses_it). It also
    re-detects the delimiter, which the format already fixes.

    rows (Sequence[Row]): All rows of the file.
    label_index (int): The label column.
    exclusive (bool): A label cell holds one label.
    label_sep (str): What separates labels in a cell when not `exclusive`.
    mapping (Optional[Dict[str, str]]): The label map, if any.
    RETURNS (bool): Whether to take the first row as a header.
    """
    if len(rows) < 2:
        return False  # a header alone holds no data; take the row as data
    first = rows[0][1]
    first_labels = split_label_cell(first[label_index], exclusive, label_sep)
    if not first_labels:
        return False
    if mapping is not None:
        return any(label not in mapping for label in first_labels)
    seen: set[str] = set()
    for _, row in rows[1:]:
        seen.update(split_label_cell(row[label_index], exclusive, label_sep))
    if any(label in seen for label in first_labels):
        return False
    if all(label.lstrip("-").isdigit() for label in first_labels + sorted(seen)):
        return False
    names = [cell.strip() for i, cell in enumerate(first) if i != label_index]
    return all(name and len(name) <= 40 and len(name.split()) == 1 for name in names)


def _guess_label_column(
    rows: Sequence[Row], header: Optional[bool], stats: ConversionStats
) -> tuple[int, Optional[bool]]:
    """The label column for `label_col="auto"`, and the header decision if it made one."""
    first_line, first_row = rows[0]
    names = [cell.strip().lower() for cell in first_row]
    named = [i for i, name in enumerate(names) if name in LABEL_COLUMN_NAMES]
    if header is not False and named:
        label_index = named[0]
        how = f"its header cell is {first_row[label_index].strip()!r}"
        if header is None:
            header = True
            cells = " | ".join(cell.strip() for cell in first_row)
            stats.notes.append(
                f"Line {first_line} taken as a header ({cells}); set --no-header if it is data."
            )
    else:
        # Labels repeat and are short: take whichever of the first and last column has
        # fewer distinct values, then the shorter values (the first row may be a header).
        sample = rows[1:] if len(rows) > 1 else rows
        last = len(first_row) - 1
        keys = {}
        for index in (0, last):
            values = [row[index].strip() for _, row in sample]
            keys[index] = (len(set(values)), sum(map(len, values)) / len(values))
        label_index = min(keys, key=lambda index: keys[index])
        other = last if label_index == 0 else 0
        how = (
            f"it has fewer distinct or shorter values ({keys[label_index][0]} distinct) "
            f"than column {other} ({keys[other][0]} distinct)"
        )
    stats.notes.append(f"Label column: {label_index} ({how}); set --label-col to choose another.")
    return label_index, header


def _read_rows(
    path: PathLike, delimiter: str, options: TextcatReadOptions, stats: ConversionStats
) -> list[Row]:
    rows: list[Row] = []
    lines = iter_lines(
        path, encoding=options.encoding, encoding_errors=options.encoding_errors, keepends=True
    )
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


def _check_columns(rows: Sequence[Row], delimiter: str, path: PathLike) -> int:
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
        other = "a tab (for a CSV file pass --format csv)"
        if delimiter != "\t":
            other = "a comma (for a TSV file pass --format tsv)"
        raise ConversionError(
            f"expected at least 2 columns, a label and a text, separated by {other}",
            path,
            first_line,
        )
    return n_cols


def _text_specs(text_col: Optional[object]) -> list[ColumnSpec]:
    if text_col is None:
        return []
    if isinstance(text_col, (str, int)):
        return [spec for spec in str(text_col).split(",") if spec.strip()]
    return list(text_col)  # type: ignore[call-overload]


def _is_name(spec: ColumnSpec) -> bool:
    if not isinstance(spec, str) or spec in ("auto", "first", "last"):
        return False
    try:
        int(spec)
    except ValueError:
        return True
    return False


def _resolve_col(
    spec: ColumnSpec,
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
