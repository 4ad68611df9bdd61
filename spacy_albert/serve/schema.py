"""What the server accepts: its limits, and the `POST /v1/annotate` request body.

Parsing never raises anything but `RequestError`, whose status (413 or 422) and message
go back to the client as they are: bad user input is never a 500.
"""

from dataclasses import dataclass
from typing import Any, Optional, Union

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr, ValidationError

from ..annotate.redact import RedactMode

Id = Union[StrictStr, StrictInt]


@dataclass(frozen=True)
class ServeSettings:
    """How `serve` runs a pipeline.

    pipeline (str): Pipeline directory or installed package name.
    max_batch (int): Most docs per pipeline call (across concurrent requests).
    max_wait_ms (float): How long a batch waits for more requests after its first.
    max_queue (int): Most docs waiting; beyond it requests get 503 + Retry-After.
    max_body_bytes (int): Largest request body (413 beyond it).
    max_texts (int): Most texts per request (413 beyond it).
    max_chars (int): Longest text, in characters (413 beyond it).
    retry_after_s (int): The Retry-After value sent with 503.
    num_threads (int): torch intra-op threads per server process (0: torch's default).
    """

    pipeline: str
    max_batch: int = 32
    max_wait_ms: float = 5.0
    max_queue: int = 256
    max_body_bytes: int = 1 << 20
    max_texts: int = 64
    max_chars: int = 100_000
    retry_after_s: int = 1
    num_threads: int = 0

    def __post_init__(self) -> None:
        if self.max_texts > self.max_queue:
            raise ValueError(
                f"max_texts ({self.max_texts}) must not exceed max_queue ({self.max_queue}): "
                "a request that can never fit the queue would always get 503"
            )


class RequestError(ValueError):
    """A request the server refuses, with the HTTP status to answer."""

    def __init__(self, status: int, message: str, detail: Optional[list[Any]] = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail


class AnnotateRequest(BaseModel):
    """The body of `POST /v1/annotate`.

    text (str | list[str]): One text, or a list of texts.
    ids (list[str | int]): Optional ids for the records (default: 0, 1, ... in order).
    redact (list[str]): Entity labels to replace in the returned text, e.g. ["PER"].
    redact_mode (str): 'label' (`[PER]`) or 'pseudonym' (`[PER_1]`, stable per entity).
    """

    model_config = ConfigDict(extra="forbid")

    text: Union[StrictStr, list[StrictStr]]
    ids: Optional[list[Id]] = None
    redact: Optional[list[StrictStr]] = None
    redact_mode: RedactMode = "label"

    @property
    def texts(self) -> list[str]:
        return [self.text] if isinstance(self.text, str) else list(self.text)

    @property
    def record_ids(self) -> list[Any]:
        return list(self.ids) if self.ids is not None else list(range(len(self.texts)))


def parse_annotate_request(body: bytes, settings: ServeSettings) -> AnnotateRequest:
    """Validate a request body against the schema and the size limits.

    body (bytes): The raw body (already within `max_body_bytes`).
    settings (ServeSettings): The limits.
    RETURNS (AnnotateRequest): The parsed request.
    RAISES (RequestError): 422 for invalid JSON or fields, 413 for too many or too
        long texts.
    """
    try:
        request = AnnotateRequest.model_validate_json(body)
    except ValidationError as err:
        raise RequestError(422, validation_message(err), detail=_plain_errors(err)) from None
    texts = request.texts
    if request.ids is not None and len(request.ids) != len(texts):
        raise RequestError(422, f"ids has {len(request.ids)} entries for {len(texts)} texts")
    if len(texts) > settings.max_texts:
        raise RequestError(
            413, f"{len(texts)} texts in one request; the limit is {settings.max_texts}"
        )
    for index, text in enumerate(texts):
        if len(text) > settings.max_chars:
            raise RequestError(
                413, f"text {index} has {len(text):,} characters; the limit is "
                f"{settings.max_chars:,}"
            )
    return request


def validation_message(err: ValidationError) -> str:
    """One readable sentence per problem in a pydantic error."""
    errors = err.errors()
    # `text` is a union: a wrong item in a list also fails the `str` branch, so report
    # the item alone when there is one.
    item_errors = [e for e in errors if e["loc"][:1] == ("text",) and len(e["loc"]) >= 3]
    messages: list[str] = []
    for error in errors:
        loc = error["loc"]
        if error["type"] == "json_invalid":
            message = f"the body is not valid JSON ({error['msg'].removeprefix('Invalid JSON: ')})"
        elif error["type"] == "model_type":
            message = f"the body must be a JSON object, got {type(error['input']).__name__}"
        elif loc == ("text",) and error["type"] == "missing":
            message = "the body needs a 'text' field: a string or a list of strings"
        elif loc[:1] == ("text",) and len(loc) >= 3:
            message = f"text[{loc[2]}] must be a string, got {type(error['input']).__name__}"
        elif loc[:1] == ("text",):
            if item_errors:
                continue
            message = (f"text must be a string or a list of strings, got "
                       f"{type(error['input']).__name__}")
        else:
            field = ".".join(str(part) for part in loc) or "body"
            message = f"{field}: {error['msg']}"
        if message not in messages:
            messages.append(message)
    return "; ".join(messages)


def _plain_errors(err: ValidationError) -> list[dict[str, Any]]:
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in err.errors()]
