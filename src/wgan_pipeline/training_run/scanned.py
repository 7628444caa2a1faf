"""WGAN training on Keras' JAX backend alone: no Kedro, MLflow or TensorFlow is imported.

For a GPU machine that has JAX and not TensorFlow (scripts/train_jax.py drives it). The networks,
the optimizers and the step are the pipeline's own (build.py, gan/jax_adapter.train_step);
what differs is the feed: the training images are put on the device once, and each epoch is one
compiled ``jax.lax.scan`` of the step over that epoch's batches, each gathered on the device
from a shuffled index table. Nothing goes back to the host between steps.

What happens after the steps and after each epoch is the pipeline's TrainingSession
(session.py), as for ``fit``: the same divergence checks and message, history, fixed-noise
digits, judging (given a judge) and a checkpoint after every epoch, resumed when the same
command runs again. Its records go to no MLflow run. A checkpoint names its trainer: this one
orders an epoch's images with ``epoch_order`` (NumPy), ``fit`` with TensorFlow's shuffle, so
each resumes only its own (the other's is kept, and said to be).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from wgan_pipeline.gan import jax_adapter
from wgan_pipeline.gan.judge import Judge
from wgan_pipeline.params import TrainingParams

from . import checkpoints
from .build import build_wgan
from .run_folder import RunFolders
from .session import TrainingSession

if keras.backend.backend() == "jax":
    import jax
    import jax.numpy as jnp

logger = logging.getLogger(__name__)

# The per-epoch logs the pipeline's history holds (gradient_penalty only with the penalty).
LOGGED = ("critic_loss", "generator_loss", "wasserstein_estimate", "gradient_penalty")


@dataclass(frozen=True)
class ScannedResult:
    """What a finished run hands on: the kept generator (the last without a judge) and the
    last, with plain Keras layers, and the records the pipeline's training node writes."""

    generator: keras.Model
    generator_last: keras.Model
    critic: keras.Model
    progress: checkpoints.Progress  # history, steps, epoch samples


def epoch_order(n_images: int, batch_size: int, seed: int, epoch: int) -> np.ndarray:
    """(steps, batch_size) image indices of epoch ``epoch``: a permutation that is a function
    of (seed, epoch) alone, so a resumed run sees the batches an uninterrupted one would. The
    last incomplete batch is dropped."""
    order = np.random.default_rng([seed, epoch]).permutation(n_images)
    steps = n_images // batch_size
    return order[: steps * batch_size].reshape(steps, batch_size).astype(np.int32)


def train_scanned(
    images: np.ndarray,
    params: TrainingParams,
    checkpoints_folder: RunFolders,
    generator_name: str = "generator",
    on_epoch: Callable[[int, checkpoints.Progress, keras.Model], None] = lambda *_: None,
    judge: Judge | None = None,
    judge_every: int | None = None,
    keep_within: float = 0.0,
) -> ScannedResult:
    """Train as ``params`` say on float32 images (N, 28, 28, 1) in [-1, 1], on the device JAX
    picks (a GPU where there is one), recording, checking, judging (with a ``judge``, as
    trainer.train does) and checkpointing in a TrainingSession as ``fit`` does.
    ``on_epoch(epoch, progress, generator)`` runs after each epoch's checkpoint (1-based
    epoch), e.g. to write that epoch's grid."""
    if keras.backend.backend() != "jax":
        raise RuntimeError(
            f"train_scanned runs on Keras' JAX backend, but Keras runs on "
            f"{keras.backend.backend()!r}: set KERAS_BACKEND=jax before Python starts."
        )
    steps_per_epoch = len(images) // params.batch_size
    keras.utils.set_random_seed(params.seed)
    wgan = build_wgan(params, steps_per_epoch, generator_name)
    session = TrainingSession(wgan, params, images, checkpoints_folder, "scanned",
                              judge=judge, judge_every=judge_every, keep_within=keep_within)  # fmt: skip
    variables = jax_adapter.state_variables(wgan)
    on_device = jnp.asarray(images)
    run_epoch = _compiled_epoch(wgan)
    logger.info(
        "Training with jax on %s: %d images, %d epochs of %d critic steps, each epoch one scan.",
        ", ".join(str(d) for d in jax.devices()),
        len(images),
        params.epochs,
        steps_per_epoch,
    )
    with session:
        epoch, skip = session.position
        while epoch < params.epochs:
            for metric in wgan.metrics:  # per-epoch means, as fit resets them
                metric.reset_state()
            state = tuple([v.value for v in group] for group in variables)
            order = jnp.asarray(epoch_order(len(images), params.batch_size, params.seed, epoch))
            start = time.perf_counter()
            state, logs = run_epoch(state, on_device, order[skip:])
            logs = jax.device_get(logs)  # waits for the epoch
            seconds = time.perf_counter() - start
            for group, values in zip(variables, state, strict=True):
                for variable, value in zip(group, values, strict=True):
                    variable.assign(value)
            session.after_steps((epoch + 1) * steps_per_epoch, logs)
            session.after_epoch(epoch + 1, {k: logs[k][-1] for k in LOGGED if k in logs}, seconds)
            logger.info(
                "Epoch %d/%d: %.1f s, Wasserstein estimate %.4f.",
                epoch + 1,
                params.epochs,
                seconds,
                session.progress.history[-1]["wasserstein_estimate"],
            )
            on_epoch(epoch + 1, session.progress, wgan.generator)
            epoch, skip = epoch + 1, 0
    return ScannedResult(*session.generators(), wgan.critic, session.progress)


def _compiled_epoch(wgan) -> Callable:
    """(state, images, order) -> (state, per-step logs): the step scanned over ``order``'s
    batches, compiled once per epoch length (a resumed epoch is shorter, so compiles again)."""

    def run(state, images, order):
        def body(state, indices):
            logs, state = jax_adapter.train_step(wgan, state, images[indices])
            return state, logs

        return jax.lax.scan(body, state, order)

    return jax.jit(run, donate_argnums=0)
