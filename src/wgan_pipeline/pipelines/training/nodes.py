"""Train the WGAN (training_run.trainer does the work) and hand its results to the catalog."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pandas as pd

from wgan_pipeline.params import DataParams, TrainingParams, model_name
from wgan_pipeline.training_run.trainer import train


def train_wgan(
    training_images: np.ndarray, params: TrainingParams, checkpoint_dir: Path, data: DataParams
) -> tuple[keras.Model, keras.Model, pd.DataFrame, pd.DataFrame, np.ndarray]:
    """WGAN training as ``params`` set it: by default the chapter's (clipping, RMSprop).

    Returns the trained generator, the critic, a per-epoch history (critic loss, generator loss,
    Wasserstein estimate, epoch seconds), a per-critic-step Wasserstein estimate and the
    fixed-noise samples after every epoch (uint8, (epochs, grid_rows**2, 28, 28)).

    Checkpoints go to ``checkpoint_dir`` every epoch (and every ``checkpoint_every_steps``); a
    compatible checkpoint found there at the start is resumed; the final one is removed once
    every output of the run is saved (hooks/checkpoint_cleanup.py). SIGINT and SIGTERM write a
    checkpoint, mark the MLflow run KILLED and stop. The generator is named after the data set
    (``mnist_generator``), so the evaluation refuses it for another data set.
    """
    result = train(training_images, params, checkpoint_dir, model_name("generator", data.dataset))
    return result.generator, result.critic, result.history, result.steps, result.epoch_samples
