"""Train the chapter's WGAN: seed, build, fit, hand back the models and the per-epoch history."""

from __future__ import annotations

import logging
import sys
from typing import Literal

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from pydantic import Field

from wgan_pipeline.params import Params
from wgan_pipeline.samples import latent_noise

from .callbacks import EpochTimer, MlflowLiveLogger
from .models import build_critic, build_generator, plain_generator
from .wgan import WGAN

logger = logging.getLogger(__name__)


class TrainingParams(Params):
    """``params:training``; checked by Kedro before any node runs. Defaults are the chapter's."""

    seed: int = Field(0, ge=0, description="Seeds weights, noise and data order.")
    latent_dim: int = Field(100, ge=1, description="Size of the generator's noise input.")
    batch_size: int = Field(100, ge=1, description="Images per critic update.")
    epochs: int = Field(30, ge=1, description="Passes over the training images.")
    n_critic: int = Field(1, ge=1, description="Critic updates per generator update.")
    clip_value: float = Field(0.1, gt=0, description="Critic weights are clipped to [-c, c].")
    learning_rate: float = Field(5e-5, gt=0, le=1, description="RMSprop's, for both networks.")
    noise: Literal["uniform", "normal"] = Field("uniform", description="U(-1, 1) or N(0, 1).")
    steps_per_execution: int = Field(
        1, ge=1, description="Train steps per compiled call (fewer Python round trips)."
    )
    jit_compile: bool = Field(False, description="Compile the train step with XLA.")
    fused_upsampling: bool = Field(
        True, description="Train with UpSampleConv2D (same function, 9/25 of the conv work)."
    )
    grid_rows: int = Field(8, ge=1, le=32, description="Rows (= columns) of the live sample grid.")


def make_dataset(images: np.ndarray, batch_size: int, seed: int) -> tf.data.Dataset:
    """Shuffled batches of ``batch_size`` images from memory, reshuffled every epoch.

    Shuffles indices and gathers on the device: no per-step Python or NumPy, and no second
    copy of the images in a shuffle buffer. The last incomplete batch is dropped.
    """
    if len(images) < batch_size:
        raise ValueError(
            f"{len(images)} training images are fewer than one batch of {batch_size} "
            "(training.batch_size * training.n_critic): lower the batch size or raise "
            "data.max_train_images."
        )
    table = tf.convert_to_tensor(images)
    return (
        tf.data.Dataset.range(len(images))
        .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
        .map(lambda idx: tf.gather(table, idx), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def train_wgan(
    training_images: np.ndarray, params: TrainingParams
) -> tuple[keras.Model, keras.Model, pd.DataFrame]:
    """Weight-clipped WGAN training with RMSprop, one optimizer per network.

    Returns the trained generator, the critic and a per-epoch history (critic loss, generator
    loss, Wasserstein estimate, epoch seconds). Runs on a GPU when TensorFlow sees one.
    """
    keras.utils.set_random_seed(params.seed)
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    logger.info(
        "Training on %s: %d images, %d epochs of %d steps.",
        ", ".join(d.name for d in devices),
        len(training_images),
        params.epochs,
        len(training_images) // (params.batch_size * params.n_critic),
    )

    wgan = WGAN(
        build_generator(params.latent_dim, fused_upsampling=params.fused_upsampling),
        build_critic(),
        latent_dim=params.latent_dim,
        clip_value=params.clip_value,
        n_critic=params.n_critic,
        noise=params.noise,
        seed=params.seed,
    )
    wgan.compile(
        critic_optimizer=keras.optimizers.RMSprop(params.learning_rate),
        generator_optimizer=keras.optimizers.RMSprop(params.learning_rate),
        steps_per_execution=params.steps_per_execution,
        jit_compile=params.jit_compile,
    )
    # Clip once before the first update too (the paper's code clamps before each critic update),
    # so the critic starts inside the constraint set.
    wgan.clip_critic_weights()

    dataset = make_dataset(training_images, params.batch_size * params.n_critic, params.seed)
    fixed_noise = latent_noise(params.grid_rows**2, params.latent_dim, params.noise, params.seed)
    history = wgan.fit(
        dataset,
        epochs=params.epochs,
        shuffle=False,  # make_dataset shuffles
        callbacks=[EpochTimer(), MlflowLiveLogger(fixed_noise, params.grid_rows)],
        verbose=1 if sys.stdout.isatty() else 2,
    )
    frame = pd.DataFrame(history.history)
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    # Saved as the chapter's plain architecture: loadable anywhere, no custom layer needed.
    return plain_generator(wgan.generator), wgan.critic, frame
