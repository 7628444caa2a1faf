"""Train the chapter's WGAN: seed, build, fit, hand back the models and the per-epoch history."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Literal

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from pydantic import Field

from wgan_pipeline.params import Params
from wgan_pipeline.samples import latent_noise

from . import backend, checkpoints
from .callbacks import (
    EpochHistory,
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
    jit_compile: bool | Literal["auto"] = Field(
        "auto",
        description="Compile the train step with XLA; auto: Keras decides (on with JAX and on "
        "GPUs, off with TensorFlow on a CPU).",
    )
    mixed_precision: bool = Field(
        False,
        description="bfloat16 compute with float32 weights, critic score and losses (faster "
        "where the hardware has bfloat16 units).",
    )
    fused_upsampling: bool = Field(
        True, description="Train with UpSampleConv2D (same function, 9/25 of the conv work)."
    )
    grid_rows: int = Field(8, ge=1, le=32, description="Rows (= columns) of the live sample grid.")
    checkpoint_every_steps: int | None = Field(
        None, ge=1, description="Also checkpoint every N critic steps (null: every epoch only)."
    )
    deterministic: bool = Field(
        False,
        description="Deterministic ops (TensorFlow's; XLA's on a GPU with JAX): a resumed run "
        "ends bit-identical.",
    )


def make_optimizer(params: TrainingParams) -> keras.optimizers.Optimizer:
    """A fresh optimizer as ``params`` name it (each network needs its own instance)."""
    if params.optimizer == "adam":
        return keras.optimizers.Adam(params.learning_rate, params.beta_1, params.beta_2)
    return keras.optimizers.RMSprop(params.learning_rate)


def make_dataset(
    images: np.ndarray, batch_size: int, seed: int, start_epoch: int = 0, skip_steps: int = 0
) -> tf.data.Dataset:
    """Endless shuffled batches of ``batch_size`` images from memory, epoch after epoch from
    ``start_epoch``, the first ``skip_steps`` batches left out (a resumed run).

    Epoch e's order is a function of (seed, e) alone, so a resumed run sees the very batches an
    uninterrupted one would. Shuffles indices and gathers on the device: no per-step Python or
    NumPy, and no second copy of the images. Each epoch's last incomplete batch is dropped.
    """
    if len(images) < batch_size:
        raise ValueError(
            f"{len(images)} training images are fewer than one batch of {batch_size} "
            "(training.batch_size): lower the batch size or raise data.max_train_images."
        )
    table = tf.convert_to_tensor(images)
    indices = tf.range(len(images), dtype=tf.int64)

    def epoch_batches(epoch):
        order = tf.random.experimental.stateless_shuffle(indices, seed=tf.stack([seed, epoch]))
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder=True)

    return (
        tf.data.Dataset.range(start_epoch, np.iinfo(np.int64).max)
        .flat_map(epoch_batches)
        .skip(skip_steps)
        .map(lambda idx: tf.gather(table, idx), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def train_wgan(
    training_images: np.ndarray, params: TrainingParams, checkpoint_dir: Path
) -> tuple[keras.Model, keras.Model, pd.DataFrame, pd.DataFrame, np.ndarray]:
    """WGAN training as ``params`` set it: by default the chapter's (clipping, RMSprop).

    Returns the trained generator, the critic, a per-epoch history (critic loss, generator loss,
    Wasserstein estimate, epoch seconds), a per-critic-step Wasserstein estimate and the
    fixed-noise samples after every epoch (uint8, (epochs, grid_rows**2, 28, 28)). Runs on a
    GPU when the Keras backend (TensorFlow, or JAX with KERAS_BACKEND=jax) sees one.

    Checkpoints go to ``checkpoint_dir`` every epoch (and every ``checkpoint_every_steps``); a
    compatible checkpoint found there at the start is resumed, and all are removed once training
    finishes. SIGINT and SIGTERM write a checkpoint, mark the MLflow run KILLED and stop.
    """
    if params.deterministic:
        backend.enable_determinism()
    keras.utils.set_random_seed(params.seed)
    steps_per_epoch = len(training_images) // params.batch_size
    logger.info(
        "Training with %s on %s: %d images, %d epochs of %d critic steps (%s, %s, n_critic %d).",
        keras.backend.backend(),
        ", ".join(backend.devices()),
        len(training_images),
        params.epochs,
        steps_per_epoch,
        params.constraint,
        params.optimizer,
        params.n_critic,
    )

    dtype = "mixed_bfloat16" if params.mixed_precision else None
    wgan = WGAN(
        build_generator(params.latent_dim, fused_upsampling=params.fused_upsampling, dtype=dtype),
        build_critic(dtype=dtype),
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
    identity = checkpoints.training_identity(params.model_dump(), training_images)
    with checkpoints.claim(checkpoint_dir) as run_dir:
        progress = _resume_or_start(run_dir, identity, wgan, params, steps_per_epoch)
        _fit(wgan, training_images, params, progress, run_dir, identity, steps_per_epoch)
        checkpoints.clear(run_dir)  # finished: the next run starts fresh

    steps = pd.DataFrame(progress.steps, columns=["critic_step", "epoch", "wasserstein_estimate"])
    steps[["critic_step", "epoch"]] = steps[["critic_step", "epoch"]].astype("int64")
    # Saved as the chapter's plain architecture: loadable anywhere, no custom layer needed.
    generator = plain_generator(wgan.generator)
    history = pd.DataFrame(progress.history)
    return generator, wgan.critic, history, steps, np.stack(progress.samples)


def _fit(
    wgan: WGAN,
    training_images: np.ndarray,
    params: TrainingParams,
    progress: checkpoints.Progress,
    run_dir: Path,
    identity: dict,
    steps_per_epoch: int,
) -> None:
    """``fit`` from where ``progress`` stands to ``params.epochs``, recording into it."""
    fixed_noise = latent_noise(params.grid_rows**2, params.latent_dim, params.noise, params.seed)
    samples = EpochSamples(fixed_noise, progress.samples)
    epochs = EpochHistory(progress.history)
    checkpoint = checkpoints.Checkpoint(run_dir, progress, identity, params.checkpoint_every_steps)
    callbacks = [
        StopOnDivergence(),  # first: nothing is logged or drawn from a diverged epoch
        EpochTimer(),
        StepHistory(progress.steps),
        samples,
        epochs,
        MlflowLiveLogger(samples, params.grid_rows),
        checkpoint,  # last: saves what the others recorded
    ]
    start_epoch, skip = divmod(progress.critic_step, steps_per_epoch)
    with checkpoints.stop_cleanly_on_signals(checkpoint):
        while start_epoch < params.epochs:
            # A resumed epoch runs only its remaining steps; the next fit runs whole epochs.
            wgan.fit(
                make_dataset(training_images, params.batch_size, params.seed, start_epoch, skip),
                initial_epoch=start_epoch,
                epochs=start_epoch + 1 if skip else params.epochs,
                steps_per_epoch=steps_per_epoch - skip,
                shuffle=False,  # make_dataset shuffles
                callbacks=callbacks,
                verbose=1 if sys.stdout.isatty() else 2,
            )
            start_epoch, skip = (start_epoch + 1, 0) if skip else (params.epochs, 0)


def _resume_or_start(
    directory: Path, identity: dict, wgan: WGAN, params: TrainingParams, steps_per_epoch: int
) -> checkpoints.Progress:
    """The progress of the checkpoint to resume, restored into ``wgan``, or a fresh start."""
    found = checkpoints.latest(directory)
    if found is not None:
        reason = checkpoints.why_incompatible(found, identity)
        if reason is None:
            progress = checkpoints.restore(found, wgan)
            epoch, step = divmod(progress.critic_step, steps_per_epoch)
            logger.warning(
                "Resuming training from checkpoint %s: epoch %d, step %d of it (critic step %d%s).",
                found,
                epoch + 1,
                step,
                progress.critic_step,
                f", MLflow run {progress.run_id}" if progress.run_id else "",
            )
            return progress
        logger.warning(
            "Not resuming checkpoint %s: it was written with other settings (%s). Starting "
            "fresh; it is deleted.",
            found,
            reason,
        )
        checkpoints.clear(directory)
    if params.constraint == "clip":
        # Clip once before the first update too (the paper's code clamps before each critic
        # update), so the critic starts inside the constraint set.
        wgan.clip_critic_weights()
    return checkpoints.Progress()
