"""The data the Ray engine moves: input blocks to the actors, record blocks back, and the
sinks that write record blocks to JSONL or Parquet on the driver.

A record is JSON-encoded once, on the actor (`encode_record`); the driver writes those
bytes as they are, and Parquet output is built from the records without JSON at all.
"""

import json
import os
from pathlib import Path
from typing import Any, Literal, Optional

from .records import InputRecord, Record, encode_record
from .resume import JsonlAppender

OutputFormat = Literal["jsonl", "parquet"]


def input_block(items: list[InputRecord]) -> Any:
    """A pandas block of input records: its object columns keep ids of any JSON type and
    texts with lone surrogates, which Arrow strings cannot hold.

    items (list[InputRecord]): The records of one block.
    RETURNS (pandas.DataFrame): Columns line, id, text, error.
    """
    import pandas

    return pandas.DataFrame({
        "line": [item.line for item in items],
        "id": pandas.Series([item.id for item in items], dtype=object),
        "text": pandas.Series([item.text for item in items], dtype=object),
        "error": pandas.Series([item.error for item in items], dtype=object),
    })


def input_records(block: Any) -> list[InputRecord]:
    """The input records of a block made by `input_block`."""
    columns = (block["line"], block["id"], block["text"], block["error"])
    return [InputRecord(int(line), id_, text, error) for line, id_, text, error in zip(*columns)]


def parquet_schema() -> Any:
    """The Parquet output's fields: the JSONL record's, ids as text (ids may mix types)."""
    import pyarrow as pa

    ent = pa.struct([("start", pa.int64()), ("end", pa.int64()),
                     ("label", pa.string()), ("text", pa.string())])
    return pa.schema([
        ("id", pa.string()), ("text", pa.string()),
        ("cats", pa.map_(pa.string(), pa.float64())),
        ("ents", pa.list_(ent)), ("error", pa.string()),
    ])


def record_block(records: list[Record], output_format: OutputFormat) -> Any:
    """Records as an Arrow table in the output's form.

    records (list[Record]): The records of one block.
    output_format (OutputFormat): 'jsonl': columns `record` (the JSONL line) and
        `is_error`; 'parquet': the columns of `parquet_schema`.
    RETURNS (pyarrow.Table): One row per record, in order.
    """
    import pyarrow as pa

    if output_format == "parquet":
        return pa.Table.from_pylist([_parquet_row(r) for r in records], schema=parquet_schema())
    return pa.table({
        "record": pa.array([encode_record(r) for r in records], pa.binary()),
        "is_error": pa.array(["error" in r for r in records], pa.bool_()),
    })


def _arrow_str(value: Optional[str]) -> Optional[str]:
    """A str Arrow can store: lone surrogates (valid in JSON input) become U+FFFD."""
    if value is None:
        return None
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _parquet_row(record: Record) -> dict[str, Any]:
    record_id = record["id"]
    ents = record.get("ents")
    return {
        "id": _arrow_str(record_id if isinstance(record_id, str) else json.dumps(record_id)),
        "text": _arrow_str(record.get("text")),
        "cats": list(record["cats"].items()) if "cats" in record else None,
        "ents": None if ents is None else [{**e, "text": _arrow_str(e["text"])} for e in ents],
        "error": _arrow_str(record.get("error")),
    }


class ParquetSink:
    """Record blocks to a Parquet file, written to `<name>.partial`, renamed when complete.

    path (Path): The output file.
    """

    def __init__(self, path: Path):
        import pyarrow.parquet as pq

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        self.schema = parquet_schema()
        self.writer = pq.ParquetWriter(str(self.partial), self.schema)

    def write(self, table: Any) -> int:
        """Write a block in the 'parquet' form of `record_block`; RETURNS its error records."""
        self.writer.write_table(table.select(self.schema.names))
        return table.num_rows - table.column("error").null_count

    def close(self, complete: bool) -> None:
        """Close the file; a complete one gets its final name."""
        self.writer.close()
        if complete:
            os.replace(self.partial, self.path)


class JsonlSink:
    """Record blocks to a resumable JSONL file (see `resume.JsonlAppender`).

    path (Path): The output file.
    append (bool): Continue an existing file (a resumed run).
    """

    def __init__(self, path: Path, append: bool):
        self.out = JsonlAppender(path, append)

    def write(self, table: Any) -> int:
        """Write a block in the 'jsonl' form of `record_block`; RETURNS its error records."""
        self.out.write(table.column("record").to_pylist())
        return table.column("is_error").to_pylist().count(True)

    def close(self, complete: bool) -> None:
        """Close the file (complete or not, what it holds can be resumed)."""
        self.out.close()
