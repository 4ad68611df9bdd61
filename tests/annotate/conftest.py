"""Fixtures of the annotate tests."""

import pytest


@pytest.fixture(scope="module")
def ray_local():
    """A local Ray (127.0.0.1 only, 2 CPUs, no dashboard) for one test module."""
    pytest.importorskip("ray")
    from spacy_albert.annotate.ray_session import init_local_ray, shutdown_local_ray

    init_local_ray(num_cpus=2)
    yield
    shutdown_local_ray()
