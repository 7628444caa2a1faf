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

from .callbacks import (
    EpochSamples,
    EpochTimer,
    MlflowLiveLogger,
    StepHistory,
    StopOnDivergence,
)
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
    critic_schedule: Literal["constant", "paper"] = Field(
        "constant",
        description="constant: n_critic always; paper: 100 for the first 25 generator updates "
        "and every 500th, as the WGAN paper's code.",
    )
    constraint: Literal["clip", "gradient_penalty"] = Field(
        "clip", description="Keeps the critic Lipschitz: weight clipping or a gradient penalty."
    )
    clip_value: float = Field(0.1, gt=0, description="Critic weights are clipped to [-c, c].")
    gp_weight: float = Field(10.0, gt=0, description="Lambda of the gradient penalty.")
    optimizer: Literal["rmsprop", "adam"] = Field("rmsprop", description="For both networks.")
    learning_rate: float = Field(5e-5, gt=0, le=1, description="Both optimizers' step size.")
    beta_1: float = Field(0.5, ge=0, lt=1, description="Adam's first-moment decay.")
    beta_2: float = Field(0.9, ge=0, lt=1, description="Adam's second-moment decay.")
    noise: Literal["uniform", "normal"] = Field("uniform", description="U(-1, 1) or N(0, 1).")
    steps_per_execution: int = Field(
        1, ge=1, description="Train steps per compiled call (fewer Python round trips)."
    )
    jit_compile: bool = Field(False, description="Compile the train step with XLA.")
    fused_upsampling: bool = Field(
        True, description="Train with UpSampleConv2D (same function, 9/25 of the conv work)."
    )
    grid_rows: int = Field(8, ge=1, le=32, description="Rows (= columns) of the live sample grid.")


def make_optimizer(params: TrainingParams) -> keras.optimizers.Optimizer:
    """A fresh optimizer as ``params`` name it (each network needs its own instance)."""
    if params.optimizer == "adam":
        return keras.optimizers.Adam(params.learning_rate, params.beta_1, params.beta_2)
    return keras.optimizers.RMSprop(params.learning_rate)


def make_dataset(images: np.ndarray, batch_size: int, seed: int) -> tf.data.Dataset:
    """Shuffled batches of ``batch_size`` images from memory, reshuffled every epoch.

    Shuffles indices and gathers on the device: no per-step Python or NumPy, and no second
    copy of the images in a shuffle buffer. The last incomplete batch is dropped.
    """
    if len(images) < batch_size:
        raise ValueError(
            f"{len(images)} training images are fewer than one batch of {batch_size} "
            "(training.batch_size): lower the batch size or raise data.max_train_images."
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
) -> tuple[keras.Model, keras.Model, pd.DataFrame, pd.DataFrame, np.ndarray]:
    """WGAN training as ``params`` set it: by default the chapter's (clipping, RMSprop).

    Returns the trained generator, the critic, a per-epoch history (critic loss, generator loss,
    Wasserstein estimate, epoch seconds), a per-critic-step Wasserstein estimate and the
    fixed-noise samples after every epoch (uint8, (epochs, grid_rows**2, 28, 28)). Runs on a
    GPU when TensorFlow sees one.
    """
    keras.utils.set_random_seed(params.seed)
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    logger.info(
        "Training on %s: %d images, %d epochs of %d critic steps (%s, %s, n_critic %d).",
        ", ".join(d.name for d in devices),
        len(training_images),
        params.epochs,
        len(training_images) // params.batch_size,
        params.constraint,
        params.optimizer,
        params.n_critic,
    )

    wgan = WGAN(
        build_generator(params.latent_dim, fused_upsampling=params.fused_upsampling),
        build_critic(),
        latent_dim=params.latent_dim,
        constraint=params.constraint,
        clip_value=params.clip_value,
        gp_weight=params.gp_weight,
        n_critic=params.n_critic,
        critic_schedule=params.critic_schedule,
        noise=params.noise,
        seed=params.seed,
    )
    wgan.compile(
        critic_optimizer=make_optimizer(params),
        generator_optimizer=make_optimizer(params),
        steps_per_execution=params.steps_per_execution,
        jit_compile=params.jit_compile,
    )
    if params.constraint == "clip":
        # Clip once before the first update too (the paper's code clamps before each critic
        # update), so the critic starts inside the constraint set.
        wgan.clip_critic_weights()

    dataset = make_dataset(training_images, params.batch_size, params.seed)
    fixed_noise = latent_noise(params.grid_rows**2, params.latent_dim, params.noise, params.seed)
    steps, samples = StepHistory(), EpochSamples(fixed_noise)
    history = wgan.fit(
        dataset,
        epochs=params.epochs,
        shuffle=False,  # make_dataset shuffles
        callbacks=[
            StopOnDivergence(),  # first: nothing is logged or drawn from a diverged epoch
            EpochTimer(),
            steps,
            samples,
            MlflowLiveLogger(samples, params.grid_rows),
        ],
        verbose=1 if sys.stdout.isatty() else 2,
    )
    frame = pd.DataFrame(history.history)
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    # Saved as the chapter's plain architecture: loadable anywhere, no custom layer needed.
    generator = plain_generator(wgan.generator)
    return generator, wgan.critic, frame, steps.to_frame(), np.stack(samples.samples)
