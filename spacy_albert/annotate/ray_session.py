"""The Ray connection of a run, and a local Ray that listens on 127.0.0.1 only.

Ray has no public option for a loopback-only local instance: its servers bind to every
interface unless the node's IP is 127.0.0.1, and on Linux `ray.init` swaps 127.0.0.1 for
the machine's routable IP unless Ray's `RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER` switch is off
(read by each Ray process at import, as `ray._private.ray_constants.ENABLE_RAY_CLUSTER`).
This module is the one place that sets that switch; `tests/annotate/test_ray_session.py`
fails loudly if Ray renames it or starts listening elsewhere.

Needs the `ray` extra: `pip install "spacy-albert[ray]"`.
"""

import os
from types import ModuleType
from typing import Any, Optional

LOCAL_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
_saved_settings: list[tuple[Optional[str], bool]] = []


def require_ray() -> ModuleType:
    """The `ray` module with Ray Data, or an ImportError that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The Ray engine needs Ray Data: pip install \"spacy-albert[ray]\""
        ) from err
    return ray


def _ray_constants() -> ModuleType:
    """Ray's constants module, checked to still hold the loopback switch."""
    from ray._private import ray_constants

    renamed = getattr(ray_constants, "ENABLE_RAY_CLUSTERS_ENV_VAR", None) != LOCAL_ONLY_ENV
    if renamed or not hasattr(ray_constants, "ENABLE_RAY_CLUSTER"):
        raise RuntimeError(
            f"This Ray version no longer has the {LOCAL_ONLY_ENV} switch that keeps a local "
            "Ray on 127.0.0.1: update spacy_albert/annotate/ray_session.py, or connect to "
            "a Ray you started yourself (address='auto')."
        )
    return ray_constants


def init_local_ray(num_cpus: int = 2, **kwargs: Any) -> None:
    """Start a local Ray instance that listens on 127.0.0.1 only, without a dashboard.

    num_cpus (int): CPUs Ray may schedule on (one per actor by default).
    **kwargs: More `ray.init` arguments.
    """
    ray = require_ray()
    constants = _ray_constants()
    _saved_settings.append((os.environ.get(LOCAL_ONLY_ENV), constants.ENABLE_RAY_CLUSTER))
    os.environ[LOCAL_ONLY_ENV] = "0"  # read by the Ray processes started below
    constants.ENABLE_RAY_CLUSTER = False  # the driver read it when it imported Ray
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    settings: dict[str, Any] = {
        "num_cpus": num_cpus,
        "include_dashboard": False,
        "log_to_driver": False,
    }
    settings.update(kwargs)
    ray.init(**settings)


def shutdown_local_ray() -> None:
    """Stop the instance `init_local_ray` started and undo its loopback-only setting."""
    require_ray().shutdown()
    constants = _ray_constants()
    while _saved_settings:
        env, enabled = _saved_settings.pop()
        if env is None:
            os.environ.pop(LOCAL_ONLY_ENV, None)
        else:
            os.environ[LOCAL_ONLY_ENV] = env
        constants.ENABLE_RAY_CLUSTER = enabled


class RaySession:
    """Use a running Ray connection, or open one (and close it again at the end).

    address (Optional[str]): None for a local loopback-only instance, else a
        `ray.init` address ('auto', 'ray://HOST:10001').
    num_cpus (int): CPUs of a local instance.
    runtime_env (Optional[dict[str, Any]]): The job's runtime environment. Ray uploads
        local directories (`working_dir`, `py_modules`) only for a job it starts, so a
        connection this process already has cannot take one.
    """

    def __init__(
        self, address: Optional[str], num_cpus: int,
        runtime_env: Optional[dict[str, Any]] = None,
    ):
        self.address = address
        self.num_cpus = num_cpus
        self.runtime_env = runtime_env
        self.owned = False

    def __enter__(self) -> "RaySession":
        ray = require_ray()
        if ray.is_initialized():
            if self.runtime_env:
                raise ValueError(
                    "This process is already connected to Ray, and Ray sends local "
                    "directories only to a job it starts: call ray.shutdown() first, or "
                    "pass runtime_env={'working_dir': PIPELINE_DIR} to your ray.init and "
                    "annotate with pipeline '.' and ship_pipeline=False."
                )
            return self
        settings: dict[str, Any] = {}
        if self.runtime_env:
            settings["runtime_env"] = self.runtime_env
        if self.address is None:
            init_local_ray(num_cpus=self.num_cpus, **settings)
        else:
            ray.init(address=self.address, log_to_driver=False, **settings)
        self.owned = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.owned and self.address is None:
            shutdown_local_ray()
        elif self.owned:
            require_ray().shutdown()
