"""`python -m spacy_albert serve`: annotate over HTTP (pip install 'spacy-albert[serve]')."""

import typer
from wasabi import msg

from ._app import app


@app.command("serve")
def serve_cli(
    pipeline: str = typer.Argument(..., help="Pipeline directory or installed package name."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to bind."),
    workers: int = typer.Option(
        1, "--workers", min=1, help="Server processes, each with its own copy of the pipeline."
    ),
    max_batch: int = typer.Option(
        32, "--max-batch", min=1, help="Most docs per pipeline call, across requests."
    ),
    max_wait_ms: float = typer.Option(
        5.0, "--max-wait-ms", min=0.0, help="How long a batch waits for more requests."
    ),
    max_queue: int = typer.Option(
        256, "--max-queue", min=1, help="Most docs waiting; beyond it: 503 + Retry-After."
    ),
    max_body_bytes: int = typer.Option(
        1 << 20, "--max-body-bytes", min=1, help="Largest request body (413 beyond it)."
    ),
    max_texts: int = typer.Option(64, "--max-texts", min=1, help="Most texts per request."),
    max_chars: int = typer.Option(
        100_000, "--max-chars", min=1, help="Longest text in characters (413 beyond it)."
    ),
    threads: int = typer.Option(
        0, "--threads", min=0, help="torch threads per process (0: torch's default, one per "
        "core; where the CPU is shared, 1 often serves more requests/s)."
    ),
    access_log: bool = typer.Option(
        True, "--access-log/--no-access-log", help="Log every request."
    ),
) -> None:
    """Serve PIPELINE over HTTP: POST /v1/annotate, GET /healthz, /readyz, /v1/meta.

    POST /v1/annotate takes {"text": "..." or ["...", ...], "redact": ["PER", ...],
    "redact_mode": "label" or "pseudonym"} and returns {"records": [...]} in the format
    of `annotate`. Requests are batched together (up to --max-batch docs, waiting at
    most --max-wait-ms); a full queue answers 503 with Retry-After, oversize input 413,
    malformed input 422. The pipeline loads offline; /readyz turns 200 after a warm-up doc.
    """
    try:
        from ..serve.app import run_server
        from ..serve.schema import ServeSettings
    except ImportError as err:
        msg.fail(f"serve needs FastAPI and uvicorn ({err}): pip install 'spacy-albert[serve]'",
                 exits=1)
    try:
        settings = ServeSettings(
            pipeline=pipeline, max_batch=max_batch, max_wait_ms=max_wait_ms,
            max_queue=max_queue, max_body_bytes=max_body_bytes, max_texts=max_texts,
            max_chars=max_chars, num_threads=threads,
        )
    except ValueError as err:
        msg.fail(str(err), exits=1)
    run_server(settings, host=host, port=port, workers=workers, access_log=access_log)
