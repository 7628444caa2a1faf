"""Shared test set-up: offline, no telemetry, TensorFlow quiet, tiny data. Helpers that tests
import live in helpers.py."""

import os

# Before Kedro or TensorFlow are imported anywhere in the test session.
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# A pytest-xdist worker's TensorFlow (and that of the `kedro run`s it starts, which inherit the
# environment) uses the worker's share of the cores, not all of them: the workers (addopts: -n 2)
# run side by side, and processes that each size their thread pools to every core keep switching
# between threads. On 2 cores, two `kedro run --env test` side by side took 41-44 s with one
# thread each against 48 s with the defaults (alone, one thread is about 10% slower: a share only
# pays when both workers are busy). Without xdist (-n 0) TensorFlow keeps every core.
if "PYTEST_XDIST_WORKER" in os.environ:
    _cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    _share = max(1, (_cores or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    for _name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(_name, str(_share))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from .helpers import kept_mlflow_state  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_mlflow_state():
    """Each test gets back the MLflow state (URIs, experiment, their environment variables) it
    started with: none leaks into later tests or the processes they start."""
    with kept_mlflow_state():
        yield


@pytest.fixture
def tiny_mnist() -> dict[str, np.ndarray]:
    """MNIST-shaped arrays with few images: digit-like blobs, labels 0..9."""
    rng = np.random.default_rng(0)
    images = (rng.random((64, 28, 28)) > 0.8).astype(np.uint8) * 255
    labels = np.arange(64, dtype=np.uint8) % 10
    return {"x_train": images, "y_train": labels, "x_test": images[:16], "y_test": labels[:16]}
