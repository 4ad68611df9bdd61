"""Shared pieces of the converters: the error type, line decoding, stats and atomic writes."""

import functools
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional, Union, get_args

import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin

PathLike = Union[str, Path]
EncodingErrors = Literal["strict", "replace", "surrogateescape", "backslashreplace"]
ENCODING_ERRORS: tuple[str, ...] = get_args(EncodingErrors)
RepairKind = Literal["continuation", "unclosed"]

_ENCODING_HINT = (
    "pass the file's real encoding (e.g. --encoding latin-1) or "
    "--encoding-errors replace (Python API: encoding=..., encoding_errors=...)"
)


class ConversionError(ValueError):
    """Bad input or bad options for a converter.

    The message names the file and the 1-based line (`path:line: what was wrong`), so the
    CLI can print it as is and a user can jump to the line.
    """

    def __init__(
        self, reason: str, path: Optional[PathLike] = None, line: Optional[int] = None
    ) -> None:
        """Create the error.

        reason (str): What was wrong.
        path (Optional[PathLike]): The input file, if the error concerns one.
        line (Optional[int]): The 1-based line number in `path`, if known.
        """
        self.reason = reason
        self.path = str(path) if path is not None else None
        self.line = line
        if self.path is not None and line is not None:
            message = f"{self.path}:{line}: {reason}"
        elif self.path is not None:
            message = f"{self.path}: {reason}"
        else:
            message = reason
        super().__init__(message)


@dataclass(frozen=True)
class TagRepair:
    """One malformed NER tag sequence that a reader repaired instead of refusing.

    path (str): The input file.
    line (int): The 1-based line of the tag that was repaired.
    kind (RepairKind): "continuation" (an I-/M-/E- tag that continued no entity now starts
        one) or "unclosed" (a BIOES/BILOU/BMES entity with no E- ends where it stops).
    message (str): What was wrong and what the repair did.
    """

    path: str
    line: int
    kind: RepairKind
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class ConversionStats:
    """What a conversion read and wrote, for the report.

    The readers fill the input-side counts (`n_sents`, `skipped_separators`,
    `skipped_blank_lines`, `notes`, `repairs`); `write_docbin` fills the output-side
    counts, taken from the docs themselves (`n_sents_written` counts sentence starts), so
    a report can show that what was read was written.
    """

    n_docs: int = 0
    n_tokens: int = 0
    n_sents: int = 0
    n_sents_written: int = 0
    n_docs_with_ents: int = 0
    n_docs_with_cats: int = 0
    skipped_separators: int = 0
    skipped_blank_lines: int = 0
    ents: Counter[str] = field(default_factory=Counter)
    cats: Counter[str] = field(default_factory=Counter)
    labels: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    repairs: list[TagRepair] = field(default_factory=list)

    @property
    def n_ents_repaired(self) -> int:
        """The number of entities that a repair started (the rest were begun by tags)."""
        return sum(repair.kind == "continuation" for repair in self.repairs)

    def add_doc(self, doc: Doc) -> None:
        """Count one written doc.

        doc (Doc): The doc.
        """
        self.n_docs += 1
        self.n_tokens += len(doc)
        self.n_sents_written += sum(token.is_sent_start is True for token in doc)
        if len(doc) and doc[0].ent_iob_ != "":
            self.n_docs_with_ents += 1
            self.ents.update(ent.label_ for ent in doc.ents)
        if doc.cats:
            self.n_docs_with_cats += 1
            self.cats.update(label for label, value in doc.cats.items() if value >= 0.5)


@functools.cache
def blank_nlp(lang: str) -> Language:
    """A blank pipeline for a language, created once per process (creating one is slow).

    lang (str): The language code, e.g. "en" or "zh" (whose default segmenter is "char").
    RETURNS (Language): The shared blank pipeline; do not add components to it.
    """
    try:
        return spacy.blank(lang)
    except (ImportError, KeyError, ValueError) as err:
        raise ConversionError(f"cannot create a blank {lang!r} pipeline: {err}") from None


def check_encoding_errors(encoding_errors: str) -> None:
    """Refuse an unknown `errors=` handler before any file is read.

    encoding_errors (str): The handler name.
    """
    if encoding_errors not in ENCODING_ERRORS:
        raise ConversionError(
            f"unknown encoding-errors handler {encoding_errors!r}; "
            f"choose one of {', '.join(ENCODING_ERRORS)}"
        )


def iter_lines(
    path: PathLike,
    *,
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
    keepends: bool = False,
) -> Iterator[tuple[int, str]]:
    """Decode a file line by line, so a decoding error can name its line.

    Lines are split on LF only (`\\r` of a CRLF is removed unless `keepends`), never on the
    other characters `str.splitlines` treats as breaks. A UTF-8 byte order mark is dropped.
    Encodings whose newline is not the single byte 0x0A (UTF-16, UTF-32) are not supported.

    path (PathLike): The file.
    encoding (str): The text encoding.
    encoding_errors (str): "strict", "replace", "surrogateescape" or "backslashreplace".
    keepends (bool): Keep the line ending ("\\n" or "\\r\\n") on each line.
    YIELDS (Tuple[int, str]): The 1-based line number and the decoded line.
    """
    check_encoding_errors(encoding_errors)
    try:
        "".encode(encoding)
    except LookupError:
        raise ConversionError(f"unknown encoding {encoding!r}", path) from None
    is_utf8 = encoding.lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig")
    try:
        handle = open(path, "rb")
    except OSError as err:
        raise ConversionError(f"cannot open the file: {err.strerror}", path) from None
    with handle:
        for i, raw in enumerate(handle, start=1):
            if i == 1 and is_utf8 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not keepends:
                raw = raw.rstrip(b"\n")
                if raw.endswith(b"\r"):
                    raw = raw[:-1]
            try:
                text = raw.decode(encoding, errors=encoding_errors)
            except UnicodeDecodeError as err:
                bad = " ".join(f"0x{b:02X}" for b in raw[err.start : min(err.end + 2, len(raw))])
                raise ConversionError(
                    f"cannot decode the line as {encoding} (bytes {bad} at byte "
                    f"{err.start + 1} of the line: {err.reason}); {_ENCODING_HINT}",
                    path,
                    i,
                ) from None
            yield i, text


def check_storable(text: str, path: PathLike, line: int) -> None:
    """Refuse text that spaCy cannot store (lone surrogates from `surrogateescape`).

    text (str): The text of a token or a doc.
    path (PathLike): The input file, for the message.
    line (int): The 1-based line the text came from.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        bad = " ".join(
            f"0x{ord(c) - 0xDC00:02X}" if 0xDC80 <= ord(c) <= 0xDCFF else f"U+{ord(c):04X}"
            for c in text[err.start : err.end]
        )
        raise ConversionError(
            f"the text holds lone surrogates ({bad}: undecodable bytes kept by "
            "--encoding-errors surrogateescape, or \\udcXX escapes in JSON), which spaCy "
            "cannot store (its strings are UTF-8); use --encoding-errors replace or "
            "backslashreplace, or the right --encoding",
            path,
            line,
        ) from None


def resolve_output_path(output_path: PathLike, input_path: Optional[PathLike] = None) -> Path:
    """Where to write: `output_path`, or `<output_path>/<input stem>.spacy` for a directory.

    output_path (PathLike): A file path, or an existing directory.
    input_path (Optional[PathLike]): The input file, to name the output in a directory.
    RETURNS (Path): The output file path.
    """
    output_path = Path(output_path)
    if output_path.is_dir():
        if input_path is None:
            raise ConversionError(f"{output_path} is a directory; give a file path")
        return output_path / f"{Path(input_path).stem}.spacy"
    return output_path


def write_bytes_atomic(data: bytes, output_path: PathLike) -> Path:
    """Write bytes to a temp file next to `output_path`, then rename it into place.

    A reader never sees a half-written file, and nothing is left behind on error.

    data (bytes): The content.
    output_path (PathLike): The final path; its directory is created if needed.
    RETURNS (Path): The path written.
    """
    output_path = Path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        dir=output_path.parent, prefix=f".{output_path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)
        os.replace(tmp_name, output_path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    return output_path


def write_docbin(
    docs: Iterable[Doc], output_path: PathLike, *, stats: Optional[ConversionStats] = None
) -> ConversionStats:
    """Collect docs into a DocBin and write it atomically to a `.spacy` file.

    The docs are consumed first, so an error raised while reading the input (a
    `ConversionError` from a reader) leaves no output file, not even a partial one.
    Missing annotation is kept: a token with `ent_iob_ == ""` stays missing and a doc
    with empty `cats` stays without cats.

    docs (Iterable[Doc]): The docs, e.g. from `read_conll`, `read_char_bio` or `read_textcat`.
    output_path (PathLike): The `.spacy` file to write.
    stats (Optional[ConversionStats]): Stats to add the output counts to (the same object
        passed to the reader, so the report has both sides).
    RETURNS (ConversionStats): The stats.
    """
    if stats is None:
        stats = ConversionStats()
    doc_bin = DocBin(store_user_data=False)
    n_before = stats.n_docs
    for doc in docs:
        doc_bin.add(doc)
        stats.add_doc(doc)
    if stats.n_docs == n_before:
        raise ConversionError(f"no documents to write to {output_path}: the input holds no data")
    write_bytes_atomic(doc_bin.to_bytes(), output_path)
    return stats
