"""Shared test set-up: offline, no telemetry, TensorFlow quiet, tiny data."""

import os
from pathlib import Path

# Before Kedro or TensorFlow are imported anywhere in the test session.
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The shared, bit-exact MNIST copy CI places in data/01_raw (never the only way to get data).
SHARED_MNIST = PROJECT_ROOT.parent / "shared" / "data" / "mnist" / "mnist.npz"


def mnist_copy() -> Path:
    """A local real MNIST file, or skip: the project's cache first, then the shared copy."""
    for path in (PROJECT_ROOT / "data" / "01_raw" / "mnist.npz", SHARED_MNIST):
        if path.is_file():
            return path
    pytest.skip(
        "needs real MNIST offline: place mnist.npz in data/01_raw/ "
        "(or ../shared/data/mnist/mnist.npz), as .ci/run does"
    )


@pytest.fixture
def tiny_mnist() -> dict[str, np.ndarray]:
    """MNIST-shaped arrays with few images: digit-like blobs, labels 0..9."""
    rng = np.random.default_rng(0)
    images = (rng.random((64, 28, 28)) > 0.8).astype(np.uint8) * 255
    labels = np.arange(64, dtype=np.uint8) % 10
    return {"x_train": images, "y_train": labels, "x_test": images[:16], "y_test": labels[:16]}
