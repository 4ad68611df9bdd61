"""NER tag schemes: check one sentence's tags and repair malformed continuations.

Accepted schemes: IOB1, IOB2, BIOES, BILOU (L- and U- read as E- and S-) and BMES.
`normalize_tags` turns a sentence's tags into IOB2 (every entity begins with B-), which
spaCy's `iob_to_biluo` and `biluo_tags_to_spans` turn into entity spans.

Repair rule. Public corpora hold annotation noise: Resume NER's train.char.bmes has an
entity that runs across a sentence break, so the next sentence starts with `M-ORG`. By
default such a sequence is repaired, and each repair is recorded with its file and line:

- A continuation tag (`I-X`, `M-X`, `E-X`) that continues no open `X` entity (after `O`,
  after another type, or at the start of a sentence) starts a new `X` entity, as IOB1
  does; a lone `E-X` so started is a one-token entity.
- In BIOES, BILOU and BMES an entity not closed by `E-` (before `O`, `B-`, `S-`, another
  type or the end of the sentence) ends at its last token.

With `strict=True` the first such sequence is refused instead, naming the file and line.
In "auto" and "iob1", `I-X` beginning an entity is IOB1, not a repair, and "auto" does
not require `E-`. A prefix that the named scheme does not use (`I-` in BMES) or an
unknown tag is always an error: the scheme, not the annotation, is wrong there.
"""

import re
from collections.abc import Sequence
from typing import Optional

from .errors import ConversionError, PathLike, RepairKind, TagRepair
from .options import SCHEMES, Scheme, check_choice

# The prefixes each scheme allows, after L -> E and U -> S.
_SCHEME_PREFIXES = {
    "auto": "BIMES",
    "iob1": "BI",
    "iob2": "BI",
    "bioes": "BIES",
    "bilou": "BIES",
    "bmes": "BMES",
}
# Schemes in which every entity must end in E- (or be a single S-).
_CLOSED_SCHEMES = ("bioes", "bilou", "bmes")
# Schemes in which I-X after O or another type begins an entity (IOB1).
_IOB1_SCHEMES = ("auto", "iob1")
_TAG_RE = re.compile(r"^([BIMESLU])[-_](\S.*)$")
_ALIASES = {"L": "E", "U": "S"}


def parse_tag(tag: str, path: PathLike, line: int) -> tuple[str, str]:
    """Split a tag into its prefix and its label.

    tag (str): E.g. "B-PER", "I_LOC", "S-NAME" or "O".
    path (PathLike): The input file, for error messages.
    line (int): The tag's 1-based line, for error messages.
    RETURNS (Tuple[str, str]): The prefix (one of "O", "B", "I", "M", "E", "S") and the
        label ("" for "O"). BILOU's "L" and "U" come back as "E" and "S".
    """
    if tag == "O":
        return "O", ""
    match = _TAG_RE.match(tag)
    if match is None:
        raise ConversionError(
            f"unknown NER tag {tag!r}: expected 'O' or a B-, I-, M-, E-, S-, L- or U- "
            "prefix followed by a label (e.g. 'B-PER')",
            path,
            line,
        )
    prefix, label = match.groups()
    return _ALIASES.get(prefix, prefix), label


def normalize_tags(
    tags: Sequence[str],
    lines: Sequence[int],
    *,
    scheme: Scheme = "auto",
    path: PathLike = "<input>",
    strict: bool = False,
    repairs: Optional[list[TagRepair]] = None,
) -> list[str]:
    """Check one sentence's tags and rewrite them as IOB2, repairing malformed sequences.

    See the module docstring for the repair rule.

    tags (Sequence[str]): The tags of one sentence.
    lines (Sequence[int]): The 1-based line of each tag, for messages.
    scheme (Scheme): "auto" or the scheme to check the tags against.
    path (PathLike): The input file, for messages.
    strict (bool): Refuse the first malformed sequence instead of repairing it.
    repairs (Optional[List[TagRepair]]): Where to record each repair.
    RETURNS (List[str]): One IOB2 tag per token ("O", "B-X" or "I-X").
    """
    check_choice(scheme, SCHEMES, "tag scheme")
    allowed = _SCHEME_PREFIXES[scheme]
    closed = scheme in _CLOSED_SCHEMES
    iob2: list[str] = []
    open_label: Optional[str] = None  # the label of an entity the next tag may continue
    open_start = 0

    def malformed(i: int, kind: RepairKind, refusal: str, repair: str) -> None:
        if strict:
            raise ConversionError(refusal, path, lines[i])
        if repairs is not None:
            repairs.append(TagRepair(str(path), lines[i], kind, repair))

    def unclosed(i: int, before: str, last: int) -> None:
        problem = f"{tags[open_start]!r} (line {lines[open_start]}) is not closed by E-{open_label}"
        malformed(
            i,
            "unclosed",
            f"{problem} before {before}; in the {scheme.upper()} scheme every entity ends "
            "with E- (or is a single S-)",
            f"{problem} before {before}: the entity ends at line {lines[last]}",
        )

    for i, tag in enumerate(tags):
        prefix, label = parse_tag(tag, path, lines[i])
        if prefix != "O" and prefix not in allowed:
            raise ConversionError(
                f"tag {tag!r} has prefix {prefix}-, which the {scheme.upper()} scheme "
                f"does not use (it uses {', '.join(p + '-' for p in allowed)} and O)",
                path,
                lines[i],
            )
        continues = prefix in "IME" and label == open_label
        if prefix in "IME" and not continues and not (prefix == "I" and scheme in _IOB1_SCHEMES):
            previous = repr(tags[i - 1]) if i > 0 else "the start of the sentence"
            problem, rule, action = _continuation_messages(tag, prefix, label, previous)
            malformed(i, "continuation", f"{problem}; {rule}", f"{problem}: {action}")
        if open_label is not None and closed and not continues:
            unclosed(i, repr(tag), i - 1)
        if prefix == "O":
            iob2.append("O")
            open_label = None
        elif continues:
            iob2.append(f"I-{label}")
            open_label = None if prefix == "E" else label
        else:
            iob2.append(f"B-{label}")
            open_label = None if prefix in "SE" else label
            open_start = i
    if open_label is not None and closed:
        unclosed(len(tags) - 1, "the end of the sentence", len(tags) - 1)
    return iob2


def _continuation_messages(
    tag: str, prefix: str, label: str, previous: str
) -> tuple[str, str, str]:
    """What is wrong with a continuation tag that continues no entity, the rule it breaks
    (for the refusal) and what the repair does."""
    if prefix == "E":
        return (
            f"{tag!r} ends an entity that was never begun (previous tag: {previous})",
            f"an E- tag must follow B-{label} or I-/M-{label}",
            f"read as a one-token {label} entity",
        )
    hint = " (pass --scheme iob1 if this file is IOB1)" if prefix == "I" else ""
    return (
        f"{tag!r} does not continue an entity of type {label!r} (previous tag: {previous})",
        f"an entity must start with B-{hint}",
        f"started a new {label} entity here",
    )
