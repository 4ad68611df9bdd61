"""Text classification labels: label maps, the label set, and each doc's `cats`."""

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Optional

from .errors import ConversionError, PathLike
from .options import LabelMapArg
from .records import TextRecord


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
        return _read_label_map_file(as_path)
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


def _read_label_map_file(path: Path) -> dict[str, str]:
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConversionError(f"cannot read the label map: {err}", path) from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(content)
        except json.JSONDecodeError as err:
            raise ConversionError(
                f"bad JSON in the label map: {err.msg}", path, err.lineno
            ) from None
        if isinstance(data, list):
            return {str(i): str(name) for i, name in enumerate(data)}
        if isinstance(data, dict):
            return {str(k): str(v) for k, v in data.items()}
        raise ConversionError("a JSON label map must be an object or a list", path)
    names = [line.strip() for line in content.splitlines()]
    return {str(i): name for i, name in enumerate(name for name in names if name)}


def label_set(
    records: Sequence[TextRecord],
    mapping: Optional[dict[str, str]],
    labels: Optional[Sequence[str]],
) -> list[str]:
    """The labels every doc's `cats` gets as keys, in order.

    records (Sequence[TextRecord]): All records of the file.
    mapping (Optional[Dict[str, str]]): The label map, if any.
    labels (Optional[Sequence[str]]): The label set given by the user, if any.
    RETURNS (List[str]): `labels` if given, else the map's names, else the labels seen
        (sorted as numbers if they all are numbers).
    """
    if labels:
        return list(dict.fromkeys(labels))
    if mapping is not None:
        return list(dict.fromkeys(mapping.values()))
    seen: set[str] = set()
    for record in records:
        if record.labels is not None:
            seen.update(record.labels)
    if all(label.lstrip("-").isdigit() for label in seen):
        return sorted(seen, key=int)
    return sorted(seen)


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


def make_cats(
    record: TextRecord,
    labels: Sequence[str],
    mapping: Optional[dict[str, str]],
    exclusive: bool,
    path: PathLike,
) -> dict[str, float]:
    """A record's `doc.cats`: every label of the set, 1.0 (or the given score) for its own.

    record (TextRecord): The record; its `labels` must not be None.
    labels (Sequence[str]): The label set (see `label_set`).
    mapping (Optional[Dict[str, str]]): The label map, if any.
    exclusive (bool): Require exactly one label at 1.0 and the rest at 0.0.
    path (PathLike): The input file, for messages.
    RETURNS (Dict[str, float]): The cats.
    """
    cats = {label: 0.0 for label in labels}
    if isinstance(record.labels, dict):
        given = {_map_label(k, mapping, path, record.line): v for k, v in record.labels.items()}
    else:
        given = {_map_label(k, mapping, path, record.line): 1.0 for k in record.labels or []}
    for label, value in given.items():
        if label not in cats:
            raise ConversionError(
                f"label {label!r} is not in the label set ({', '.join(labels)})",
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
