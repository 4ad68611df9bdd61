"""The Ray engine writes what the single-machine annotate writes, byte for byte.

One local Ray instance (127.0.0.1 only, 2 CPUs, no dashboard) serves the whole module.
"""

import json
from pathlib import Path

import pytest
import spacy
from typer.testing import CliRunner

from spacy_albert.annotate.inputs import iter_input_records
from spacy_albert.annotate.local import annotate_file, annotate_records
from spacy_albert.annotate.options import AnnotateOptions
from spacy_albert.cli import app
from tests.conftest import CORPUS

ray = pytest.importorskip("ray")
pytest.importorskip("pyarrow")

from spacy_albert.annotate.ray_engine import RayOptions, annotate_with_ray  # noqa: E402

MARKER = "BOOM-RAISE"
CODE = f'''
from spacy.language import Language


@Language.component("raise_on_marker")
def raise_on_marker(doc):
    if "{MARKER}" in doc.text:
        raise ValueError("marker text")
    return doc
'''
BATCH = 16


def assert_same_records(got: bytes, expected: bytes) -> None:
    """Same records, same order, same ids, texts, entities and errors; scores equal up to
    float noise. (Fresh processes give identical bytes; a process that has done other
    work first, e.g. trained the fixtures' pipeline, can differ in the last digits.)"""
    got_records = [json.loads(line) for line in got.split(b"\n") if line]
    expected_records = [json.loads(line) for line in expected.split(b"\n") if line]
    assert len(got_records) == len(expected_records)
    for a, b in zip(got_records, expected_records):
        assert a.keys() == b.keys()
        assert {k: v for k, v in a.items() if k != "cats"} == {
            k: v for k, v in b.items() if k != "cats"
        }
        if "cats" in b:
            assert a["cats"] == pytest.approx(b["cats"], rel=1e-5, abs=1e-7)


@pytest.fixture(scope="module")
def code_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("code") / "raise_on_marker.py"
    path.write_text(CODE, encoding="utf8")
    spacy.util.import_file("raise_on_marker_code", path)
    return path


@pytest.fixture(scope="module")
def raising_pipeline(en_pipeline_dir, code_file, tmp_path_factory) -> Path:
    """The demo pipeline plus a component that raises on docs containing MARKER."""
    nlp = spacy.load(en_pipeline_dir)
    nlp.add_pipe("raise_on_marker", last=True)
    out = tmp_path_factory.mktemp("pipelines") / "raising"
    nlp.to_disk(out)
    return out


@pytest.fixture(scope="module")
def input_file(tmp_path_factory) -> Path:
    lines = (CORPUS / "en" / "dev.jsonl").read_text(encoding="utf8").splitlines(True)[:40]
    lines[3:3] = [json.dumps({"id": "not-a-string", "text": 17}) + "\n"]
    lines[9:9] = [json.dumps({"id": "raises", "text": f"Shares fell. {MARKER} again."}) + "\n"]
    lines[20:20] = ["{broken json\n", "\n", json.dumps({"text": "No id, so the line."}) + "\n"]
    lines.append(json.dumps({"id": 7, "text": "Line\u2028separator inside, caf\u00e9."},
                            ensure_ascii=False) + "\n")
    path = tmp_path_factory.mktemp("input") / "input.jsonl"
    path.write_text("".join(lines), encoding="utf8")
    return path


@pytest.fixture(scope="module")
def local_output(raising_pipeline, input_file, tmp_path_factory) -> bytes:
    """The single-machine output (`annotate_file`), the reference."""
    nlp = spacy.load(raising_pipeline)
    path = tmp_path_factory.mktemp("local") / "out.jsonl"
    annotate_file(nlp, input_file, path, AnnotateOptions(batch_size=BATCH, resume=False))
    return path.read_bytes()


def test_same_records_as_single_machine(ray_local, raising_pipeline, code_file, input_file,
                                        local_output, tmp_path):
    out = tmp_path / "ray.jsonl"
    stats = annotate_with_ray(
        raising_pipeline, input_file, out, AnnotateOptions(batch_size=BATCH, resume=False),
        RayOptions(num_actors=2, code=code_file, show_progress=False),
    )
    assert_same_records(out.read_bytes(), local_output)
    # Split on "\n" only: a record's text may hold U+2028, which splitlines() splits on.
    records = [json.loads(line) for line in out.read_bytes().split(b"\n") if line]
    n_lines = len(input_file.read_text(encoding="utf8").split("\n")) - 1
    assert len(records) == n_lines == stats.written
    by_id = {r["id"]: r for r in records}
    assert by_id["not-a-string"] == {
        "id": "not-a-string", "error": "text field 'text' must be a string, got int"
    }
    assert by_id["raises"] == {"id": "raises", "error": "ValueError: marker text"}
    assert by_id[21]["error"].startswith("invalid JSON") and by_id[22]["error"].startswith("blank")
    assert by_id[23]["text"] == "No id, so the line." and "cats" in by_id[23]
    assert "\u2028" in by_id[7]["text"]
    assert stats.errors == sum("error" in r for r in records) == 4
    assert 1 <= len(stats.actor_rss_bytes) <= 2
    assert all(rss > 50 * 2**20 for rss in stats.actor_rss_bytes.values())


def test_resume_continues_a_killed_run(ray_local, raising_pipeline, code_file, input_file,
                                       local_output, tmp_path):
    out = tmp_path / "ray.jsonl"
    # Killed mid-line after two batches: the rerun's batches are the fresh run's, so
    # even the floats (which depend on a batch's padding) come out the same.
    head = local_output.split(b"\n")[: 2 * BATCH]
    out.write_bytes(b"\n".join(head) + b'\n{"id": "torn li')
    # Through `annotate --engine ray` (resume is its default), on this module's Ray.
    result = CliRunner().invoke(app, [
        "annotate", str(raising_pipeline), str(input_file), str(out), "--engine", "ray",
        "--num-actors", "1", "--batch-size", str(BATCH), "--code", str(code_file),
        "--no-progress",
    ])
    assert result.exit_code == 0, result.output
    assert f"skipped {2 * BATCH:,} already done" in " ".join(result.output.split())
    assert out.read_bytes().startswith(b"\n".join(head) + b"\n")
    assert_same_records(out.read_bytes(), local_output)


def test_parquet_in_and_out(ray_local, raising_pipeline, code_file, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = tmp_path / "in.parquet"
    dev = [json.loads(line) for line in (CORPUS / "en" / "dev.jsonl").open(encoding="utf8")]
    texts = [r["text"] for r in dev[:20]] + [None, f"{MARKER} here"]
    ids = [r["id"] for r in dev[:20]] + ["null-text", None]
    pq.write_table(pa.table({"id": ids, "text": texts}), source, row_group_size=7)
    out = tmp_path / "out.parquet"
    stats = annotate_with_ray(raising_pipeline, source, out, AnnotateOptions(batch_size=8),
                              RayOptions(code=code_file, show_progress=False))
    assert stats.written == 22 and stats.errors == 2
    assert not out.with_name(out.name + ".partial").exists()
    rows = pq.read_table(out).to_pylist()
    nlp = spacy.load(raising_pipeline)
    expected = [r for _, r in annotate_records(nlp, iter_input_records(source), batch_size=8)]
    assert [row["id"] for row in rows] == [
        r["id"] if isinstance(r["id"], str) else json.dumps(r["id"]) for r in expected
    ]
    for row, record in zip(rows, expected):
        if "error" in record:
            assert row["error"] == record["error"] and row["cats"] is None
        else:
            assert row["error"] is None and row["text"] == record["text"]
            assert dict(row["cats"]) == pytest.approx(record["cats"], rel=1e-5, abs=1e-7)
            assert row["ents"] == record["ents"]
    assert rows[20]["error"] == "text field 'text' must be a string, got NoneType"
    assert rows[21]["id"] == "22" and rows[21]["error"] == "ValueError: marker text"


def test_hard_inputs(ray_local, raising_pipeline, code_file, tmp_path):
    """Invalid UTF-8, JSON that is not an object and a 5 MB text (over `nlp.max_length`)
    are one error record each on Ray too, byte for byte what the local engine writes."""
    lines = [json.dumps({"id": f"r{i}", "text": f"Shares of Acme fell {i}."}).encode()
             for i in range(12)]
    lines[2] = b'{"id": "latin1", "text": "caf\xe9"}'
    lines[3] = b"[1, 2, 3]"
    lines[4] = b"null"
    lines[7] = json.dumps({"id": "huge", "text": "word " * (1 << 20)}).encode()
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    options = AnnotateOptions(batch_size=4, resume=False)
    expected = tmp_path / "local.jsonl"
    annotate_file(spacy.load(raising_pipeline), source, expected, options)
    out = tmp_path / "ray.jsonl"
    stats = annotate_with_ray(raising_pipeline, source, out, options,
                              RayOptions(code=code_file, show_progress=False))
    assert_same_records(out.read_bytes(), expected.read_bytes())
    records = [json.loads(line) for line in out.read_bytes().split(b"\n") if line]
    assert [r["id"] for r in records] == [
        "r0", "r1", 3, 4, 5, "r5", "r6", "huge", "r8", "r9", "r10", "r11"
    ]
    assert stats.written == 12 and stats.errors == 4
    assert records[2]["error"].startswith("invalid UTF-8")
    assert records[3]["error"] == "expected a JSON object, got list"
    assert records[4]["error"] == "expected a JSON object, got NoneType"
    assert "E088" in records[7]["error"]
