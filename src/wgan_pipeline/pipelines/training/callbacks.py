"""What training reports while it runs: one Keras callback, logging to the active MLflow run."""

from __future__ import annotations

import logging
import time

import keras
import mlflow
import numpy as np

from wgan_pipeline.samples import image_grid

logger = logging.getLogger(__name__)


class EpochTimer(keras.callbacks.Callback):
    """Adds ``epoch_seconds`` (wall time of the epoch) to the epoch's logs and so to the history."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


class MlflowLiveLogger(keras.callbacks.Callback):
    """After every epoch: the epoch's metrics as MLflow metric histories (step = epoch number,
    1-based) and a grid of samples from fixed noise as ``samples/epoch_NNN.png``.

    Does nothing when no MLflow run is active (tests, notebooks), so training never depends on it.
    """

    def __init__(self, fixed_noise: np.ndarray, grid_rows: int, artifact_dir: str = "samples"):
        super().__init__()
        self.fixed_noise = fixed_noise
        self.grid_rows = grid_rows
        self.artifact_dir = artifact_dir

    def on_epoch_end(self, epoch, logs=None):
        if mlflow.active_run() is None:
            return
        step = epoch + 1
        metrics = {k: float(v) for k, v in (logs or {}).items() if np.isfinite(v)}
        mlflow.log_metrics(metrics, step=step)
        samples = self.model.generator.predict_on_batch(self.fixed_noise)
        grid = image_grid(samples, rows=self.grid_rows)
        mlflow.log_image(grid, artifact_file=f"{self.artifact_dir}/epoch_{step:03d}.png")
