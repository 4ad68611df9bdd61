"""What an annotation run is told (`AnnotateOptions`) and what it reports (`AnnotateStats`).

Both engines (`local.annotate_file`, `ray_engine.annotate_with_ray`) and the CLI share
these, so an option means the same thing wherever it is set.
"""

from dataclasses import dataclass
from typing import Literal, Optional, get_args

from .redact import REDACT_MODES, RedactMode

InputFormat = Literal["auto", "jsonl", "text", "parquet"]
INPUT_FORMATS: tuple[str, ...] = get_args(InputFormat)


@dataclass(frozen=True)
class AnnotateOptions:
    """How to read the input and write the output of an annotation run.

    batch_size (int): Records per `nlp.pipe` batch (and per Ray block); the JSONL output
        is flushed and fsynced after each.
    text_field (str): JSONL field / Parquet column with the text.
    id_field (str): JSONL field / Parquet column with the id (missing or null: the
        1-based line or row number).
    input_format (InputFormat): 'jsonl', 'text', 'parquet', or 'auto' (by suffix:
        .jsonl/.ndjson/.json are JSONL, .parquet/.pq Parquet, anything else text).
    resume (bool): Continue an existing JSONL output (else overwrite it).
    min_score (Optional[float]): Keep only entities whose `score` is at least this
        (needs `albert_entity_scorer`; unscored entities are dropped); None keeps all.
    redact (tuple[str, ...]): Entity labels whose text is replaced in the output record
        (see `redact.redact_record`), using every entity, before `min_score` filters.
    redact_mode (RedactMode): 'label' (`[PER]`) or 'pseudonym' (`[PER_1]`, `[PER_2]`).
    """

    batch_size: int = 64
    text_field: str = "text"
    id_field: str = "id"
    input_format: InputFormat = "auto"
    resume: bool = True
    min_score: Optional[float] = None
    redact: tuple[str, ...] = ()
    redact_mode: RedactMode = "label"

    def __post_init__(self) -> None:
        if self.redact_mode not in REDACT_MODES:
            raise ValueError(f"redact_mode must be one of {REDACT_MODES}, got {self.redact_mode!r}")
        if self.min_score is not None and not 0.0 <= self.min_score <= 1.0:
            raise ValueError(f"min_score must be in [0, 1], got {self.min_score}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.input_format not in INPUT_FORMATS:
            raise ValueError(
                f"input_format must be one of {INPUT_FORMATS}, got {self.input_format!r}"
            )


@dataclass
class AnnotateStats:
    """What an annotation run did.

    skipped (int): Records already in the output (a resumed run).
    written (int): Records written by this run.
    errors (int): Error records among them.
    """

    skipped: int = 0
    written: int = 0
    errors: int = 0
