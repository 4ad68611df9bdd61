"""The HTTP app through FastAPI's TestClient: health and readiness, batches, the record
format, redaction, and every refusal (413, 422, 503) — never a 500 for user input."""

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import spacy
from fastapi.testclient import TestClient
from spacy.language import Language
from spacy.tokens import Doc

from spacy_albert.annotate.local import doc_to_record
from spacy_albert.serve.app import annotate_batch, create_app
from spacy_albert.serve.schema import ServeSettings

# The offline fixtures: no hub, and every socket connection attempt recorded.
from tests.test_offline import network_attempts, offline  # noqa: F401

TEXTS = [
    "Shares of Nordvale Energy jumped after an excellent quarter.",
    "Omar Saleh said the final in Kingsport was a disaster.",
    "",
    "😀 Emoji 👨‍👩‍👧 and Zoë in Kraków.",
]


class Gate:
    """A pipeline component that can hold the worker inside a batch, or fail a doc."""

    def __init__(self) -> None:
        self.closed = False
        self.entered = threading.Event()
        self.opened = threading.Event()

    def __call__(self, doc: Doc) -> Doc:
        if doc.text == "BOOM":
            raise RuntimeError("this doc always fails")
        if self.closed:
            self.entered.set()
            assert self.opened.wait(30)
        return doc


GATE = Gate()
Language.component("spacy_albert_test_serve_gate", func=GATE)


def wait_ready(client: TestClient, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, client.get("/readyz").json()
        time.sleep(0.05)


@pytest.fixture(scope="module")
def client(en_nlp: Language) -> Iterator[TestClient]:
    settings = ServeSettings(pipeline="unused", max_texts=8, max_chars=1000,
                             max_body_bytes=20_000)
    with TestClient(create_app(settings, nlp=en_nlp)) as test_client:
        wait_ready(test_client)
        yield test_client


@pytest.fixture
def gated() -> Iterator[tuple[TestClient, Gate]]:
    """A blank pipeline with the gate, one doc per batch, room for four waiting docs."""
    nlp = spacy.blank("en")
    nlp.add_pipe("spacy_albert_test_serve_gate")
    settings = ServeSettings(pipeline="unused", max_batch=1, max_wait_ms=0, max_queue=4,
                             max_texts=4, retry_after_s=3)
    GATE.closed, GATE.entered, GATE.opened = False, threading.Event(), threading.Event()
    with TestClient(create_app(settings, nlp=nlp)) as test_client:
        wait_ready(test_client)
        try:
            yield test_client, GATE
        finally:
            GATE.opened.set()


def test_health_ready_and_meta(client: TestClient, en_nlp: Language):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    meta = client.get("/v1/meta").json()
    assert meta["pipeline"] == en_nlp.pipe_names
    assert meta["entity_labels"] == sorted(en_nlp.get_pipe("ner").labels)
    assert meta["labels"]["textcat"] == list(en_nlp.get_pipe("textcat").labels)
    assert set(meta["redaction_recall"]) == set(meta["entity_labels"])
    assert meta["limits"]["max_texts"] == 8


def test_one_text_and_a_batch_give_annotate_records(client: TestClient, en_nlp: Language):
    single = client.post("/v1/annotate", json={"text": TEXTS[1]})
    assert single.status_code == 200
    (record,) = single.json()["records"]
    expected = doc_to_record(en_nlp(TEXTS[1]), 0)
    assert record["id"] == 0 and record["text"] == expected["text"]
    assert record["ents"] == expected["ents"]
    assert record["cats"] == pytest.approx(expected["cats"], abs=1e-5)

    batch = client.post("/v1/annotate", json={"text": TEXTS, "ids": ["a", "b", 3, "d"]})
    assert batch.status_code == 200
    records = batch.json()["records"]
    assert [r["id"] for r in records] == ["a", "b", 3, "d"]
    assert [r["text"] for r in records] == TEXTS
    for record in records:
        assert set(record) == {"id", "text", "cats", "ents"}
        assert sum(record["cats"].values()) == pytest.approx(1.0, abs=1e-4)
        for ent in record["ents"]:
            assert record["text"][ent["start"]:ent["end"]] == ent["text"]


def test_concurrent_requests_all_answered(client: TestClient):
    results: list[Any] = [None] * 12

    def post(i: int) -> None:
        results[i] = client.post("/v1/annotate", json={"text": TEXTS[i % len(TEXTS)]})

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(results))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [r.status_code for r in results] == [200] * len(results)
    assert [r.json()["records"][0]["text"] for r in results] == [
        TEXTS[i % len(TEXTS)] for i in range(len(results))
    ]


def test_redaction_in_the_request(client: TestClient, en_nlp: Language):
    text = TEXTS[1]
    labels = sorted({ent.label_ for ent in en_nlp(text).ents})
    assert labels
    response = client.post("/v1/annotate", json={"text": [text, text], "redact": labels,
                                                  "redact_mode": "pseudonym"})
    assert response.status_code == 200
    body = response.json()
    for record in body["records"]:
        for ent in en_nlp(text).ents:
            assert ent.text not in record["text"]
        for ent in record["ents"]:
            assert record["text"][ent["start"]:ent["end"]] == ent["text"]
            assert ent["redacted"] and ent["text"].startswith(f"[{ent['label']}_")
    assert body["redaction"]["labels"] == labels and body["redaction"]["mode"] == "pseudonym"
    assert set(body["redaction"]["recall"]) == set(labels)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b'{"text": "\\ud800"}', "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"{}", "needs a 'text' field"),
        (b'{"text": 5}', "text must be a string or a list of strings, got int"),
        (b'{"text": null}', "text must be a string or a list of strings, got NoneType"),
        (b'{"text": ["ok", {"a": 1}]}', "text[1] must be a string, got dict"),
        (b'{"text": "ok", "ids": [1, 2]}', "ids has 2 entries for 1 texts"),
        (b'{"text": "ok", "redact": ["NOPE"]}', "unknown entity label(s) ['NOPE']"),
        (b'{"text": "ok", "redact": ["PER"], "redact_mode": "hash"}', "redact_mode"),
        (b'{"text": "ok", "extra": 1}', "extra"),
    ],
)
def test_bad_input_is_422_with_a_message(client: TestClient, body: bytes, message: str):
    response = client.post("/v1/annotate", content=body,
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert message in response.json()["error"]


def test_limits_are_413(client: TestClient):
    too_many = client.post("/v1/annotate", json={"text": ["a"] * 9})
    assert too_many.status_code == 413 and "limit is 8" in too_many.json()["error"]
    too_long = client.post("/v1/annotate", json={"text": ["ok", "x" * 1001]})
    assert too_long.status_code == 413 and "text 1 has 1,001 characters" in too_long.json()["error"]
    big = client.post("/v1/annotate", content=json.dumps({"text": "x" * 30_000}))
    assert big.status_code == 413 and "limit is 20,000" in big.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        yield b'{"text": "'
        for _ in range(30):
            yield b"x" * 1000
        yield b'"}'

    streamed = client.post("/v1/annotate", content=chunks())
    assert streamed.status_code == 413 and "exceeds the limit" in streamed.json()["error"]


def test_odd_inputs_never_give_500(client: TestClient):
    bodies = [b"null", b"true", b'"text"', b'{"text": []}', b'{"text": "\\u0000"}',
              b'{"text": "   \\n\\t "}', b'{"text": "' + "é😀中".encode() * 100 + b'"}',
              b'{"text": {"text": "nested"}}', b"\xff\xfe\x00", b'{"text": "a"}' * 2]
    for body in bodies:
        response = client.post("/v1/annotate", content=body)
        assert response.status_code in (200, 413, 422), (body, response.text)
    assert client.post("/v1/annotate", json={"text": []}).json() == {"records": []}


def test_failing_doc_is_an_error_record(gated: tuple[TestClient, Gate]):
    client, _ = gated
    response = client.post("/v1/annotate", json={"text": ["fine", "BOOM", "also fine"]})
    assert response.status_code == 200
    records = response.json()["records"]
    assert [r.get("error") for r in records] == [
        None, "RuntimeError: this doc always fails", None
    ]
    assert records[2]["text"] == "also fine"


def test_full_queue_is_503_with_retry_after(gated: tuple[TestClient, Gate]):
    client, gate = gated
    answers: dict[str, Any] = {}

    def post(name: str, size: int = 1) -> None:
        answers[name] = client.post("/v1/annotate", json={"text": [name] * size})

    gate.closed = True
    running = threading.Thread(target=post, args=("running",))
    running.start()
    assert gate.entered.wait(30)  # the worker holds "running"
    queued = threading.Thread(target=post, args=("queued", 4))
    queued.start()
    batcher = client.app.state.server.batcher
    deadline = time.monotonic() + 30
    while batcher.queued_items < 4:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    refused = client.post("/v1/annotate", json={"text": "refused"})
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "3"
    assert "queue is full" in refused.json()["error"]
    gate.opened.set()
    running.join(30)
    queued.join(30)
    assert answers["running"].status_code == answers["queued"].status_code == 200


def test_not_ready_is_503_and_a_failed_load_is_reported(tmp_path: Path):
    settings = ServeSettings(pipeline=str(tmp_path / "missing"))
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 60
        while client.get("/healthz").status_code == 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert client.get("/healthz").json()["status"] == "failed"
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "failed to load" in ready.json()["error"]
        assert "retry-after" in ready.headers
        annotate = client.post("/v1/annotate", json={"text": "x"})
        assert annotate.status_code == 503 and "failed to load" in annotate.json()["error"]
        assert client.get("/v1/meta").status_code == 503


def test_loads_offline_from_the_directory(
    en_pipeline_dir: Path, offline: None, network_attempts: list[str]  # noqa: F811
):
    with TestClient(create_app(ServeSettings(pipeline=str(en_pipeline_dir)))) as client:
        wait_ready(client)
        response = client.post("/v1/annotate", json={"text": TEXTS[:2]})
        assert response.status_code == 200 and len(response.json()["records"]) == 2
    assert network_attempts == []


def test_memory_zone_keeps_the_vocab_flat(en_nlp: Language):
    """New words seen while serving do not pile up in the string store."""
    annotate_batch(en_nlp, [(0, "warm the pipeline up")])
    before = len(en_nlp.vocab.strings)
    for i in range(50):
        annotate_batch(en_nlp, [(i, f"Word{i}x zq{i * 7919}y and Omar{i} in Town{i}.")])
    assert len(en_nlp.vocab.strings) == before
