"""One training run: seed, build, fit inside a TrainingSession (session.py), hand back the models.

What ``train_wgan`` (the training pipeline's node) calls; the GAN itself is gan/wgan.py.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from wgan_pipeline.console import three_digits
from wgan_pipeline.fit_console import FitProgress
from wgan_pipeline.gan.judge import Judge
from wgan_pipeline.lifecycle import stop_cleanly
from wgan_pipeline.params import TrainingParams

from .build import build_wgan
from .data import make_dataset
from .devices import devices, enable_determinism
from .mlflow_sink import MlflowSink
from .run_folder import RunFolders
from .session import TrainingSession

logger = logging.getLogger(__name__)


JUDGED = ["epoch", "source", "fid", "kept"]  # the columns of a run that judged nothing


@dataclass(frozen=True)
class TrainingResult:
    """What a finished training hands on."""

    generator: keras.Model  # the kept one (gan.judge.keeps), with no custom layer
    generator_last: keras.Model  # the last epoch's raw generator
    critic: keras.Model
    history: pd.DataFrame  # per epoch: losses, Wasserstein estimate, epoch seconds
    steps: pd.DataFrame  # per critic step: its own Wasserstein estimate
    epoch_samples: np.ndarray  # uint8 (epochs, grid_rows**2, 28, 28): fixed noise, each epoch
    judged: pd.DataFrame  # one row per judging (epoch, source raw/ema, metrics, seconds, kept)


def train(
    training_images: np.ndarray,
    params: TrainingParams,
    checkpoints_folder: RunFolders,
    generator_name: str = "generator",
    judge: Judge | None = None,
    judge_every: int | None = None,
    keep_within: float = 0.0,
) -> TrainingResult:
    """WGAN training as ``params`` set it. Runs on a GPU when the Keras backend (TensorFlow, or
    JAX with KERAS_BACKEND=jax) sees one. The generator is named ``generator_name``.

    With a ``judge`` and ``judge_every``, the generator (and its moving average, with
    ``params.ema_decay``) is judged every ``judge_every`` epochs and after the last, and the
    latest one within ``keep_within`` (a fraction) of the lowest FID is the result's
    ``generator`` (``gan.judge.keeps``); otherwise the last one is.

    Checkpoints go to a run folder of ``checkpoints_folder`` every epoch (and every
    ``checkpoint_every_steps``); a compatible checkpoint found there at the start is resumed;
    the final one is removed once every output of the run is saved (hooks/lifecycle.py).
    SIGINT and SIGTERM write a checkpoint and stop (lifecycle.py says what follows).
    """
    if params.deterministic:
        enable_determinism()
    keras.utils.set_random_seed(params.seed)
    steps_per_epoch = len(training_images) // params.batch_size
    logger.info(
        "Training with %s on %s: %d images, %d epochs of %d critic steps (%s, %s, n_critic %d).",
        keras.backend.backend(),
        ", ".join(devices()),
        len(training_images),
        params.epochs,
        steps_per_epoch,
        params.constraint,
        params.optimizer,
        params.n_critic,
    )

    wgan = build_wgan(params, steps_per_epoch, generator_name)
    session = TrainingSession(
        wgan, params, training_images, checkpoints_folder, "fit", judge=judge,
        judge_every=judge_every, keep_within=keep_within, sink=MlflowSink(params.grid_rows),
        save_every_steps=params.checkpoint_every_steps,
    )  # fmt: skip
    with session, stop_cleanly(session.stop):
        _fit(session, training_images)
    # The final checkpoint stays until the outputs are saved (RunFolders.release).

    progress = session.progress
    steps = pd.DataFrame(progress.steps, columns=["critic_step", "epoch", "wasserstein_estimate"])
    steps[["critic_step", "epoch"]] = steps[["critic_step", "epoch"]].astype("int64")
    kept, last = session.generators()
    judged = pd.DataFrame(progress.judged or None, columns=None if progress.judged else JUDGED)
    if len(judged):
        best = progress.best
        judged["kept"] = (judged["epoch"] == best["epoch"]) & (judged["source"] == best["source"])
    return TrainingResult(
        kept,
        last,
        wgan.critic,
        pd.DataFrame(progress.history),
        steps,
        np.stack(progress.samples),
        judged,
    )


class SessionSteps(keras.callbacks.Callback):
    """``fit``'s side of a TrainingSession: after each step and each epoch, the session's turn."""

    def __init__(self, session: TrainingSession):
        super().__init__()
        self.session = session

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.critic_optimizer.iterations.numpy())
        self.session.after_steps(step, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        self.session.after_epoch(epoch + 1, logs or {}, time.perf_counter() - self._start)


def _fit(session: TrainingSession, training_images: np.ndarray) -> None:
    """``fit`` from where the session stands to ``params.epochs``."""
    wgan, params, steps_per_epoch = session.wgan, session.params, session.steps_per_epoch
    progress = session.progress
    describe = lambda epoch, logs: epoch_line(progress, epoch, logs)  # noqa: E731
    callbacks = [SessionSteps(session), FitProgress("epoch", params.epochs, describe)]
    start_epoch, skip = session.position
    while start_epoch < params.epochs:
        # A resumed epoch runs only its remaining steps; the next fit runs whole epochs.
        set_steps_per_call(wgan, params.steps_per_execution, steps_per_epoch - skip)
        wgan.fit(
            make_dataset(training_images, params.batch_size, params.seed, start_epoch, skip),
            initial_epoch=start_epoch,
            epochs=start_epoch + 1 if skip else params.epochs,
            steps_per_epoch=steps_per_epoch - skip,
            shuffle=False,  # make_dataset shuffles
            callbacks=callbacks,
            verbose=0,  # FitProgress says what a person needs
        )
        start_epoch, skip = (start_epoch + 1, 0) if skip else (params.epochs, 0)


def epoch_line(progress, epoch: int, logs: dict) -> str:
    """What an epoch gave, for the console: its judged FID (and the moving average's) and the
    best so far; without judging, the Wasserstein estimate."""
    rows = [r for r in progress.judged if r["epoch"] == epoch]
    if not rows:
        estimate = logs.get("wasserstein_estimate")
        return "" if estimate is None else f"Wasserstein estimate {float(estimate):.3g}"
    names = {"raw": "", "ema": "moving average "}
    fids = ", ".join(f"{names[r['source']]}FID {three_digits(r['fid'])}" for r in rows)
    best = progress.best
    kept = f"epoch {best['epoch']}{'' if best['source'] == 'raw' else ' (moving average)'}"
    return f"{fids} · kept {kept}, {three_digits(best['fid'])}"


def set_steps_per_call(model: keras.Model, asked: int, steps_per_epoch: int) -> int:
    """Set ``model.steps_per_execution`` to the largest divisor of ``steps_per_epoch`` that is
    at most ``asked``, and return it. Keras runs whole calls of that many steps, so any other
    value would train steps past the epoch's end (the feed is endless); a value above the
    epoch is capped at it, so a huge one cannot hang an epoch."""
    steps = max(d for d in range(1, min(asked, steps_per_epoch) + 1) if steps_per_epoch % d == 0)
    if steps != asked:
        logger.info(
            "training.steps_per_execution %d runs as %d: the largest that divides the %d steps "
            "of this epoch (Keras runs whole calls; more would train past the epoch's end).",
            asked,
            steps,
            steps_per_epoch,
        )
    if steps != model.steps_per_execution:
        model.steps_per_execution = steps
        model.train_function = None  # made anew for the new count
    return steps
