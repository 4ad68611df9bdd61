"""The record the text classification readers (CSV/TSV and JSONL) hand to `read_textcat`."""

from dataclasses import dataclass
from typing import Optional, Union

# A list of gold labels, or label -> score as given (JSONL objects).
Labels = Union[list[str], dict[str, float]]


@dataclass
class TextRecord:
    """One row or record of a text classification file, before labels are mapped.

    line (int): The 1-based line the record starts on.
    text (str): The text.
    labels (Optional[Labels]): The raw labels; None: no label (the doc's cats stay missing).
    entities (Optional[List[Tuple[int, int, str]]]): `(start, end, label)` char offsets;
        None: no entities (the doc's NER annotation stays missing).
    """

    line: int
    text: str
    labels: Optional[Labels]
    entities: Optional[list[tuple[int, int, str]]]
