"""The Ray connection: a local Ray listens on loopback only, and a shipped pipeline
reaches actors that cannot read the driver's files.

These tests fail loudly when Ray changes what `ray_session` relies on.
"""

import os
from pathlib import Path

import pytest
import spacy

from spacy_albert.annotate.local import annotate_file
from spacy_albert.annotate.options import AnnotateOptions
from tests.annotate.helpers import assert_same_records, jsonl_input, read_jsonl

ray = pytest.importorskip("ray")
pytest.importorskip("pyarrow")

from spacy_albert.annotate.ray_engine import RayOptions, annotate_with_ray  # noqa: E402
from spacy_albert.annotate.ray_session import (  # noqa: E402
    LOCAL_ONLY_ENV,
    RaySession,
)


def test_ray_still_has_the_loopback_switch():
    """`ray_session` sets this private switch; a Ray that renames it must fail here."""
    from ray._private import ray_constants

    assert ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR == LOCAL_ONLY_ENV
    assert isinstance(ray_constants.ENABLE_RAY_CLUSTER, bool)


def test_shipped_pipeline(en_pipeline_dir, tmp_path):
    """ship_pipeline: the actors load the pipeline from the job's working_dir (the copy
    Ray uploads, as to a cluster without a shared file system) and write the local
    engine's records."""
    assert not ray.is_initialized(), "needs a Ray connection of its own"
    source = jsonl_input(tmp_path / "in.jsonl", 20)
    options = AnnotateOptions(batch_size=8, resume=False)
    expected = tmp_path / "local.jsonl"
    annotate_file(spacy.load(en_pipeline_dir), source, expected, options)
    out = tmp_path / "ray.jsonl"
    stats = annotate_with_ray(en_pipeline_dir, source, out, options,
                              RayOptions(ship_pipeline=True, show_progress=False))
    assert stats.written == 20 and stats.errors == 0
    assert_same_records(read_jsonl(out), read_jsonl(expected))
    assert not ray.is_initialized()  # the run's own connection is closed again


def test_shipping_needs_its_own_connection(ray_local, tmp_path):
    with pytest.raises(ValueError, match="already connected to Ray"):
        with RaySession(None, 2, {"working_dir": str(tmp_path)}):
            pass
    assert ray.is_initialized()


def _descendants(pid: int) -> set:
    children: dict = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
def test_local_ray_listens_on_loopback_only(ray_local):
    inodes = set()
    for pid in _descendants(os.getpid()):
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            if fields[3] == "0A" and fields[9] in inodes:  # LISTEN, one of Ray's
                listening.append(fields[1].split(":")[0])
    assert listening, "Ray's processes should be listening somewhere"
    loopback = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}
    assert set(listening) <= loopback, listening
