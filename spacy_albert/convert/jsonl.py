"""Read JSONL text classification records: a text, optional labels, optional entities."""

import json

from .errors import ConversionError, ConversionStats, PathLike, iter_lines
from .options import TextcatReadOptions
from .records import Labels, TextRecord


def read_jsonl_records(
    path: PathLike, options: TextcatReadOptions, stats: ConversionStats
) -> list[TextRecord]:
    """Read every record of a JSONL file (one JSON object per line; blank lines skipped).

    path (PathLike): The input file.
    options (TextcatReadOptions): The fields to read (`text_field`, `label_field`,
        `entities_field`, `use_entities`) and the encoding.
    stats (ConversionStats): Stats to count skipped blank lines in.
    RETURNS (List[TextRecord]): The records, in file order.
    """
    records = []
    lines = iter_lines(path, encoding=options.encoding, encoding_errors=options.encoding_errors)
    for line_no, line in lines:
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
        records.append(_record(data, options, path, line_no))
    return records


def _record(data: dict, options: TextcatReadOptions, path: PathLike, line: int) -> TextRecord:
    text_field = options.text_field
    if text_field not in data:
        raise ConversionError(
            f"the record has no {text_field!r} field (fields: {', '.join(data)}); set --text-field",
            path,
            line,
        )
    text = data[text_field]
    if not isinstance(text, str):
        raise ConversionError(
            f"field {text_field!r} must be a string, not {type(text).__name__}", path, line
        )
    labels = None
    if data.get(options.label_field) is not None:
        labels = _labels(data[options.label_field], options.label_field, path, line)
    entities = None
    if options.use_entities and data.get(options.entities_field) is not None:
        entities = _entities(data[options.entities_field], options.entities_field, path, line)
    return TextRecord(line, text, labels, entities)


def _labels(value: object, field: str, path: PathLike, line: int) -> Labels:
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


def _entities(value: object, field: str, path: PathLike, line: int) -> list[tuple[int, int, str]]:
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
