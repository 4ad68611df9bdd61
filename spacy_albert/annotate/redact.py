"""Redaction: the text with chosen entities replaced by `[LABEL]` or a stable pseudonym.

A pre-processing aid, not a guarantee: only what the pipeline recognises is replaced,
so every entity it misses passes through unchanged. `recall_by_label` reads the
pipeline's measured entity recall from its meta so callers can show what may slip
through.

Offsets in the result are character offsets (Python `str` indices, i.e. Unicode code
points, as `doc.ents` and the annotate records use) into the *redacted* text. The
original text of a replaced entity appears nowhere in the result.

Overlapping spans (possible in records or `doc.spans`, never in `doc.ents`) are merged
into one replaced region when any of them has a redacted label, so no part of a
redacted entity survives; the region takes the label of its longest redacted span.
Adjacent spans stay separate (`[PER][LOC]`).
"""

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Optional

from spacy.language import Language
from spacy.tokens import Doc

RedactMode = Literal["label", "pseudonym"]
REDACT_MODES: tuple[str, ...] = ("label", "pseudonym")
Record = dict[str, Any]


@dataclass(frozen=True)
class RedactedEntity:
    """An entity in the redacted text.

    start (int): Character offset into the redacted text.
    end (int): Character offset just past it.
    label (str): The entity label.
    text (str): The replacement (`[PER]`, `[PER_2]`) or, when kept, the entity text.
    redacted (bool): Whether the entity was replaced.
    score (Optional[float]): The entity's confidence, carried over from the input span
        (for a replacement: the highest of the spans it covers); None when unscored.
    """

    start: int
    end: int
    label: str
    text: str
    redacted: bool
    score: Optional[float] = None


@dataclass(frozen=True)
class RedactedRecord:
    """A text with some entities replaced.

    text (str): The redacted text.
    ents (tuple[RedactedEntity, ...]): All entities, in order, with offsets into `text`.
    """

    text: str
    ents: tuple[RedactedEntity, ...]


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    label: str
    score: Optional[float] = None


def redact_spans(
    text: str,
    spans: Iterable[tuple],
    labels: Iterable[str],
    mode: RedactMode = "label",
) -> RedactedRecord:
    """Replace the spans whose label is in `labels` and shift the other spans.

    text (str): The original text.
    spans (Iterable[tuple]): (start, end, label) or (start, end, label, score) character
        spans.
    labels (Iterable[str]): Labels to replace.
    mode (RedactMode): 'label' gives `[PER]`; 'pseudonym' gives `[PER_1]`, `[PER_2]`...,
        the same number for the same entity text within this text.
    RETURNS (RedactedRecord): The redacted text and its entities.
    RAISES (ValueError): An unknown mode, or a span outside the text or empty.
    """
    if mode not in REDACT_MODES:
        raise ValueError(f"redaction mode must be one of {REDACT_MODES}, got {mode!r}")
    wanted = set(labels)
    ordered = sorted((_checked_span(text, *span) for span in spans),
                     key=lambda s: (s.start, -s.end))
    pseudonyms: dict[tuple[str, str], str] = {}
    pieces: list[str] = []
    ents: list[RedactedEntity] = []
    copied_to = 0  # end of the original text already copied
    length = 0  # length of the redacted text written so far
    for cluster in _overlap_clusters(ordered):
        start, end = cluster[0].start, max(span.end for span in cluster)
        pieces.append(text[copied_to:start])
        length += start - copied_to
        redacted = [span for span in cluster if span.label in wanted]
        if redacted:
            label = max(redacted, key=lambda s: s.end - s.start).label
            replacement = _replacement(label, text[start:end], mode, pseudonyms)
            pieces.append(replacement)
            scores = [span.score for span in redacted if span.score is not None]
            ents.append(RedactedEntity(length, length + len(replacement), label, replacement,
                                       True, max(scores) if scores else None))
            length += len(replacement)
        else:
            pieces.append(text[start:end])
            ents.extend(
                RedactedEntity(length + span.start - start, length + span.end - start,
                               span.label, text[span.start:span.end], False, span.score)
                for span in cluster
            )
            length += end - start
        copied_to = end
    pieces.append(text[copied_to:])
    return RedactedRecord("".join(pieces), tuple(ents))


def redact_doc(
    doc: Doc, labels: Iterable[str], mode: RedactMode = "label", spans_key: Optional[str] = None
) -> RedactedRecord:
    """Redact a processed doc's entities with the given labels.

    doc (Doc): A doc the pipeline has processed.
    labels (Iterable[str]): Entity labels to replace, e.g. ['PER', 'LOC'].
    mode (RedactMode): 'label' (`[PER]`) or 'pseudonym' (`[PER_1]`, stable per entity text).
    spans_key (Optional[str]): Redact `doc.spans[spans_key]` (may overlap) instead of
        `doc.ents`.
    RETURNS (RedactedRecord): The redacted text and its entities.
    """
    source = doc.ents if spans_key is None else doc.spans[spans_key]
    spans = [(span.start_char, span.end_char, span.label_) for span in source]
    return redact_spans(doc.text, spans, labels, mode)


def redact_record(record: Record, labels: Iterable[str], mode: RedactMode = "label") -> Record:
    """Redact an annotate record (`{"id", "text", "cats", "ents"}`); error records pass as is.

    The result is the record with `text` redacted and `ents` replaced by the entities
    of the redacted text (each with `redacted: true/false`).

    record (Record): A result record from `doc_to_record`, or an error record.
    labels (Iterable[str]): Entity labels to replace.
    mode (RedactMode): 'label' or 'pseudonym'.
    RETURNS (Record): A new record; the input is not modified.
    """
    if "error" in record:
        return record
    spans = [(ent["start"], ent["end"], ent["label"], ent.get("score")) for ent in record["ents"]]
    redacted = redact_spans(record["text"], spans, labels, mode)
    ents = [
        {key: value for key, value in asdict(ent).items() if key != "score" or value is not None}
        for ent in redacted.ents
    ]
    return {**record, "text": redacted.text, "ents": ents}


def recall_by_label(meta: dict[str, Any], labels: Sequence[str]) -> dict[str, Optional[float]]:
    """The pipeline's measured entity recall for each label (None where not measured).

    Read from `meta["performance"]["ents_per_type"]` (what `spacy train` stores for the
    best model); use it to tell users how much of each label redaction may miss.

    meta (dict[str, Any]): `nlp.meta`.
    labels (Sequence[str]): The labels to redact.
    RETURNS (dict[str, Optional[float]]): label -> recall in [0, 1], or None.
    """
    per_type = (meta.get("performance") or {}).get("ents_per_type") or {}
    return {
        label: (float(per_type[label]["r"]) if label in per_type and "r" in per_type[label]
                else None)
        for label in labels
    }


def entity_labels(nlp: Language) -> list[str]:
    """The labels a pipeline can put on `doc.ents` (what can be redacted).

    nlp (Language): The pipeline.
    RETURNS (list[str]): Sorted labels of every component that assigns `doc.ents`.
    """
    return sorted({
        label
        for name in nlp.pipe_names
        if "doc.ents" in nlp.get_pipe_meta(name).assigns
        for label in getattr(nlp.get_pipe(name), "labels", ())
    })


def check_labels(labels: Iterable[str], known: Sequence[str]) -> None:
    """Refuse labels the pipeline never predicts (a typo would redact nothing, silently).

    labels (Iterable[str]): The labels asked for.
    known (Sequence[str]): The pipeline's entity labels (see `entity_labels`).
    RAISES (ValueError): Naming the unknown labels and the known ones.
    """
    unknown = sorted(set(labels) - set(known))
    if unknown:
        raise ValueError(
            f"unknown entity label(s) {unknown} to redact; the pipeline's labels are "
            f"{list(known)}"
        )


def _checked_span(
    text: str, start: int, end: int, label: str, score: Optional[float] = None
) -> _Span:
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
        raise ValueError(
            f"entity span ({start!r}, {end!r}, {label!r}) is empty or outside the text "
            f"(length {len(text)})"
        )
    return _Span(start, end, label, score)


def _overlap_clusters(spans: list[_Span]) -> list[list[_Span]]:
    """Group spans (sorted by start) into runs that overlap; touching spans stay apart."""
    clusters: list[list[_Span]] = []
    end = -1
    for span in spans:
        if clusters and span.start < end:
            clusters[-1].append(span)
            end = max(end, span.end)
        else:
            clusters.append([span])
            end = span.end
    return clusters


def _replacement(label: str, text: str, mode: str, pseudonyms: dict[tuple[str, str], str]
                 ) -> str:
    if mode == "label":
        return f"[{label}]"
    key = (label, text)
    if key not in pseudonyms:
        number = sum(1 for known_label, _ in pseudonyms if known_label == label) + 1
        pseudonyms[key] = f"[{label}_{number}]"
    return pseudonyms[key]
