"""Shared test set-up: offline, no telemetry, TensorFlow quiet, tiny data. Helpers that tests
import live in helpers.py."""

import os

# Before Kedro or TensorFlow are imported anywhere in the test session.
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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
