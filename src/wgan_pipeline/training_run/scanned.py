"""WGAN training on Keras' JAX backend alone: no Kedro, MLflow or TensorFlow is imported.

For a GPU machine that has JAX and not TensorFlow (scripts/train_jax.py drives it). The networks,
the optimizers and the step are the pipeline's own (build.py, gan/jax_adapter.train_step);
what differs is the feed: the training images are put on the device once, and each epoch is one
compiled ``jax.lax.scan`` of the step over that epoch's batches, each gathered on the device
from a shuffled index table. Nothing goes back to the host between steps.

The run folder, its checkpoints and their resumption are the pipeline's (run_folder.py,
checkpoints.py, resume.py): a checkpoint after every epoch, resumed when the same command runs
again. The history, the per-step Wasserstein estimates and the fixed-noise digits after each
epoch are recorded as the pipeline records them. A run is not judged while it trains (the
judge needs the project's classifier); the evaluation pipeline judges its generator.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from wgan_pipeline.gan import jax_adapter
from wgan_pipeline.gan.errors import TrainingDivergedError
from wgan_pipeline.gan.images import latent_noise, unscale_images
from wgan_pipeline.gan.models import plain_generator, predict_in_batches
from wgan_pipeline.params import TrainingParams

from . import checkpoints
from .build import build_wgan
from .resume import resume_or_start
from .run_folder import RunFolders

if keras.backend.backend() == "jax":
    import jax
    import jax.numpy as jnp

logger = logging.getLogger(__name__)

# The per-epoch logs the pipeline's history holds (gradient_penalty only with the penalty).
LOGGED = ("critic_loss", "generator_loss", "wasserstein_estimate", "gradient_penalty")


@dataclass(frozen=True)
class ScannedResult:
    """What a finished run hands on: the last generator, saved with plain Keras layers, and
    the records the pipeline's training node would have written."""

    generator: keras.Model
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
) -> ScannedResult:
    """Train as ``params`` say on float32 images (N, 28, 28, 1) in [-1, 1], on the device JAX
    picks (a GPU where there is one). ``on_epoch(epoch, progress, generator)`` runs after each
    epoch's checkpoint (1-based epoch), e.g. to write that epoch's grid or judge the generator."""
    if keras.backend.backend() != "jax":
        raise RuntimeError(
            f"train_scanned runs on Keras' JAX backend, but Keras runs on "
            f"{keras.backend.backend()!r}: set KERAS_BACKEND=jax before Python starts."
        )
    steps_per_epoch = len(images) // params.batch_size
    if steps_per_epoch < 1:
        raise ValueError(
            f"{len(images)} training images are fewer than one batch of {params.batch_size} "
            "(training.batch_size): lower the batch size or use more images."
        )
    keras.utils.set_random_seed(params.seed)
    wgan = build_wgan(params, steps_per_epoch, generator_name)
    identity = checkpoints.training_identity(params.model_dump(), images)
    fixed_noise = latent_noise(params.grid_rows**2, params.latent_dim, params.noise, params.seed)
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
    with checkpoints_folder.claim(identity) as run_dir:
        progress = resume_or_start(run_dir, identity, wgan, params, steps_per_epoch)
        epoch, skip = divmod(progress.critic_step, steps_per_epoch)
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
            _record(progress, wgan, logs, epoch + 1, seconds, fixed_noise)
            checkpoints.save(run_dir, wgan, progress, identity)
            logger.info(
                "Epoch %d/%d: %.1f s, Wasserstein estimate %.4f.",
                epoch + 1,
                params.epochs,
                seconds,
                progress.history[-1]["wasserstein_estimate"],
            )
            on_epoch(epoch + 1, progress, wgan.generator)
            epoch, skip = epoch + 1, 0
    return ScannedResult(plain_generator(wgan.generator), wgan.critic, progress)


def _compiled_epoch(wgan) -> Callable:
    """(state, images, order) -> (state, per-step logs): the step scanned over ``order``'s
    batches, compiled once per epoch length (a resumed epoch is shorter, so compiles again)."""

    def run(state, images, order):
        def body(state, indices):
            logs, state = jax_adapter.train_step(wgan, state, images[indices])
            return state, logs

        return jax.lax.scan(body, state, order)

    return jax.jit(run, donate_argnums=0)


def _record(progress, wgan, logs: dict, epoch: int, seconds: float, fixed_noise) -> None:
    """The epoch's history row, per-step estimates and fixed-noise digits, into ``progress``;
    TrainingDivergedError at the first non-finite value."""
    estimates = np.asarray(logs["step_wasserstein_estimate"], np.float64)
    first = progress.critic_step
    progress.critic_step = int(keras.ops.convert_to_numpy(wgan.critic_optimizer.iterations))
    for name in ("critic_loss", "step_wasserstein_estimate"):
        values = np.asarray(logs[name])
        if not np.isfinite(values).all():
            step = first + 1 + int(np.argmin(np.isfinite(values)))
            raise TrainingDivergedError(
                f"Training diverged in epoch {epoch} at critic step {step}: {name} is not "
                "finite. Lower training.learning_rate (or, with the gradient penalty, "
                "training.gp_weight), or with clipping training.clip_value."
            )
    row = {"epoch": epoch}
    row.update({k: float(np.asarray(logs[k])[-1]) for k in LOGGED if k in logs})
    row["epoch_seconds"] = seconds
    progress.history.append(row)
    progress.steps.extend(
        [first + 1 + i, epoch, float(w)] for i, w in enumerate(estimates.tolist())
    )
    progress.samples.append(unscale_images(predict_in_batches(wgan.generator, fixed_noise, 256)))
