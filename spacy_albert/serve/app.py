"""`serve`: a FastAPI app that annotates text with a pipeline, safely under load.

- `POST /v1/annotate`: `{"text": str | [str], "ids"?, "redact"?, "redact_mode"?}` ->
  `{"records": [...]}`, records as `annotate` writes them (plus `redaction` info when
  asked). 413 for a body, text count or text length over the limits; 422 with a
  message for bad JSON or fields; 503 with `Retry-After` when the queue is full or the
  pipeline is not ready. A doc that raises in the pipeline gets an error record.
- `GET /healthz` (process up), `GET /readyz` (pipeline loaded and warm), `GET /v1/meta`.

One worker thread owns the pipeline (`MicroBatcher`): it loads it offline, runs a
warm-up doc, then annotates micro-batches with gradients off, inside `nlp.memory_zone()`
(strings a batch adds to the vocab are freed after it) and with `doc._.trf_data`
dropped once the heads ran, so memory stays flat over any number of requests.
"""

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Any, Optional

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from spacy.language import Language

from ..annotate.records import doc_to_record, error_record, validate_text
from ..annotate.redact import check_labels, entity_labels, recall_by_label, redact_record
from .batching import MicroBatcher, NotReadyError, QueueFullError
from .schema import AnnotateRequest, RequestError, ServeSettings, parse_annotate_request

Record = dict[str, Any]
SETTINGS_ENV = "SPACY_ALBERT_SERVE_SETTINGS"
WARM_UP_TEXT = "Warm-up text for the pipeline."


def load_pipeline_offline(pipeline: str) -> Language:
    """Load a pipeline with the Hugging Face hub switched off.

    A saved pipeline reads only its own files (tests/test_offline.py); the environment
    variables also keep anything that imports the hub later in this process offline.

    pipeline (str): Pipeline directory or installed package name.
    RETURNS (Language): The loaded pipeline.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import spacy

    return spacy.load(pipeline)


def annotate_batch(nlp: Language, items: list[tuple[Any, str]]) -> list[Record]:
    """Annotate (id, text) pairs in one `nlp.pipe` call; a doc that raises becomes an
    error record (the batch is then redone one doc at a time to find it).

    nlp (Language): The pipeline.
    items (list[tuple[Any, str]]): Record ids and texts.
    RETURNS (list[Record]): One record per item, in order.
    """
    with nlp.memory_zone():
        try:
            docs = nlp.pipe([text for _, text in items], batch_size=max(len(items), 1))
            return [_doc_record(doc, id) for (id, _), doc in zip(items, docs)]
        except Exception:  # noqa: BLE001 - find the failing doc below
            return [_annotate_one(nlp, id, text) for id, text in items]


def _annotate_one(nlp: Language, id: Any, text: str) -> Record:
    try:
        return _doc_record(nlp(validate_text(text)), id)
    except Exception as err:  # noqa: BLE001 - reported in the record
        return error_record(id, f"{type(err).__name__}: {err}")


def _doc_record(doc: Any, id: Any) -> Record:
    record = doc_to_record(doc, id)
    if doc.has_extension("trf_data"):
        doc._.trf_data = None  # the encoder output is large; the heads have used it
    return record


class ServerState:
    """The pipeline, its batcher and the settings, shared by the routes.

    settings (ServeSettings): Limits and batching.
    nlp (Optional[Language]): An already loaded pipeline (else loaded on the worker).
    """

    def __init__(self, settings: ServeSettings, nlp: Optional[Language] = None):
        self.settings = settings
        self.nlp = nlp
        self.labels: list[str] = []
        self.batcher: MicroBatcher[tuple[Any, str], Record] = MicroBatcher(
            self._process,
            max_batch=settings.max_batch,
            max_wait_s=settings.max_wait_ms / 1000.0,
            max_queue=settings.max_queue,
        )

    def _process(self, items: list[tuple[Any, str]]) -> list[Record]:
        assert self.nlp is not None
        return annotate_batch(self.nlp, items)

    def setup(self) -> None:
        """On the worker thread: gradients off, load offline, warm up."""
        import torch

        torch.set_grad_enabled(False)  # thread-local: this thread only predicts
        if self.settings.num_threads > 0:
            torch.set_num_threads(self.settings.num_threads)
        if self.nlp is None:
            self.nlp = load_pipeline_offline(self.settings.pipeline)
        self.labels = entity_labels(self.nlp)
        (record,) = annotate_batch(self.nlp, [("warm-up", WARM_UP_TEXT)])
        if "error" in record:
            raise RuntimeError(f"the warm-up doc failed: {record['error']}")

    def meta(self) -> dict[str, Any]:
        assert self.nlp is not None
        meta = self.nlp.meta
        return {
            "name": meta.get("name"),
            "version": meta.get("version"),
            "lang": self.nlp.lang,
            "pipeline": self.nlp.pipe_names,
            "labels": self.nlp.pipe_labels,
            "entity_labels": self.labels,
            "performance": meta.get("performance", {}),
            "redaction_recall": recall_by_label(meta, self.labels),
            "limits": {k: v for k, v in asdict(self.settings).items() if k != "pipeline"},
        }


def create_app(settings: ServeSettings, nlp: Optional[Language] = None) -> FastAPI:
    """The FastAPI app; the pipeline loads on its worker thread at startup.

    settings (ServeSettings): Pipeline, limits and batching.
    nlp (Optional[Language]): Serve this pipeline instead of loading `settings.pipeline`.
    RETURNS (FastAPI): The app (run it with uvicorn, or FastAPI's TestClient).
    """
    state = ServerState(settings, nlp)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.batcher.start(setup=state.setup)
        yield
        await asyncio.to_thread(state.batcher.stop, 30.0)

    app = FastAPI(title="spacy-albert", lifespan=lifespan)
    app.state.server = state
    retry = {"Retry-After": str(settings.retry_after_s)}

    def unavailable(message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=503, headers=retry)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        if state.batcher.setup_error is not None:
            return JSONResponse(
                {"status": "failed", "error": str(state.batcher.setup_error)}, status_code=503
            )
        return JSONResponse({"status": "ok"})

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        if state.batcher.ready.is_set():
            return JSONResponse({"status": "ready"})
        if state.batcher.setup_error is not None:
            return unavailable(f"the pipeline failed to load: {state.batcher.setup_error}")
        return unavailable("the pipeline is loading")

    @app.get("/v1/meta")
    def meta() -> JSONResponse:
        if not state.batcher.ready.is_set():
            return unavailable("the pipeline is not ready")
        return JSONResponse(state.meta())

    @app.post("/v1/annotate")
    async def annotate(request: Request) -> JSONResponse:
        try:
            body = await _read_body(request, settings.max_body_bytes)
            parsed = parse_annotate_request(body, settings)
            if parsed.redact is not None and state.batcher.ready.is_set():
                _check_redact_labels(parsed.redact, state.labels)
            future = state.batcher.submit(list(zip(parsed.record_ids, parsed.texts)))
        except RequestError as err:
            content: dict[str, Any] = {"error": err.message}
            if err.detail is not None:
                content["detail"] = err.detail
            return JSONResponse(content, status_code=err.status)

        except (QueueFullError, NotReadyError) as err:
            return unavailable(str(err))
        records = await asyncio.wrap_future(future)
        return JSONResponse(_response(state, parsed, records))

    return app


def _response(state: ServerState, request: AnnotateRequest, records: list[Record]
              ) -> dict[str, Any]:
    if request.redact is None:
        return {"records": records}
    return {
        "records": [redact_record(r, request.redact, request.redact_mode) for r in records],
        "redaction": {
            "labels": request.redact,
            "mode": request.redact_mode,
            "recall": recall_by_label(state.nlp.meta if state.nlp else {}, request.redact),
            "note": "Only entities the pipeline finds are replaced; recall says how many "
            "it found on its dev set. Redaction is a pre-processing aid, not a guarantee.",
        },
    }


def _check_redact_labels(labels: list[str], known: list[str]) -> None:
    try:
        check_labels(labels, known)
    except ValueError as err:
        raise RequestError(422, str(err)) from None


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed `limit`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"the body has {int(declared):,} bytes; the limit is {limit:,}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"the body exceeds the limit of {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def app_from_env() -> FastAPI:
    """App factory for uvicorn workers: the settings come from `SPACY_ALBERT_SERVE_SETTINGS`."""
    return create_app(ServeSettings(**json.loads(os.environ[SETTINGS_ENV])))


def run_server(settings: ServeSettings, host: str = "127.0.0.1", port: int = 8000,
               workers: int = 1, access_log: bool = True) -> None:
    """Serve with uvicorn; each worker process loads its own copy of the pipeline.

    settings (ServeSettings): Pipeline, limits and batching.
    host (str): Interface to bind.
    port (int): Port to bind.
    workers (int): uvicorn worker processes.
    access_log (bool): Log every request.
    """
    import uvicorn

    os.environ[SETTINGS_ENV] = json.dumps(asdict(settings))
    uvicorn.run("spacy_albert.serve.app:app_from_env", factory=True, host=host, port=port,
                workers=workers, access_log=access_log)
