"""One training run's progress, from claiming its run folder to handing its networks on.

Both trainers drive a ``TrainingSession``: ``fit`` (trainer.py) through one thin callback, the
JAX scan (scanned.py) after each scanned epoch. What happens after a step and after an epoch,
and in which order, is written once, as the statements of ``after_steps`` and ``after_epoch``;
where the records go live (MLflow, or nowhere) is the ``sink``'s business.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from wgan_pipeline.console import three_digits
from wgan_pipeline.gan.errors import TrainingDivergedError
from wgan_pipeline.gan.images import latent_noise, unscale_images
from wgan_pipeline.gan.judge import Judge, keeps
from wgan_pipeline.gan.models import plain_generator
from wgan_pipeline.gan.wgan import WGAN
from wgan_pipeline.params import TrainingParams

from . import checkpoints
from .run_folder import RunFolders

logger = logging.getLogger(__name__)

# The step's own Wasserstein estimate (the WGAN paper's training curve); an epoch's
# ``wasserstein_estimate`` is the epoch's mean.
STEP_ESTIMATE = "step_wasserstein_estimate"


class Sink:
    """Where a session's records go while it trains: nowhere. mlflow_sink.MlflowSink sends them
    to the active MLflow run; the JAX-only script keeps this one (no MLflow)."""

    def run_id(self) -> str | None:
        return None

    def resumed(self, progress: checkpoints.Progress) -> None: ...

    def epoch(self, epoch: int, row: dict, samples: np.ndarray, judged: list, kept) -> None: ...

    def said(self, tag: str, message: str) -> None: ...


class TrainingSession:
    """A run's progress (``progress``), recorded after every step and epoch and checkpointed.

    Used as a context manager: entering claims a run folder of ``folders`` (run_folder.py) and
    resumes its checkpoint, or starts afresh; leaving keeps the folder for ``RunFolders.release``
    (or, after an error, for a rerun to resume). ``trainer`` names the trainer, part of the
    checkpoint's identity: each orders an epoch's images its own way, so a checkpoint is resumed
    by the trainer that wrote it. With a ``judge``, the generator (and its moving average) is
    judged every ``judge_every`` epochs and after the last, and the latest judging within
    ``keep_within`` of the lowest FID is kept (``gan.judge.keeps``)."""

    def __init__(
        self,
        wgan: WGAN,
        params: TrainingParams,
        images: np.ndarray,
        folders: RunFolders,
        trainer: str,
        *,
        judge: Judge | None = None,
        judge_every: int | None = None,
        keep_within: float = 0.0,
        sink: Sink | None = None,
        save_every_steps: int | None = None,
    ):
        self.wgan, self.params, self.folders = wgan, params, folders
        self.steps_per_epoch = len(images) // params.batch_size
        if self.steps_per_epoch < 1:
            raise ValueError(
                f"{len(images)} training images are fewer than one batch of {params.batch_size} "
                "(training.batch_size): lower the batch size or raise data.max_train_images."
            )
        self.identity = checkpoints.training_identity(params.model_dump(), images, trainer)
        self.judge, self.judge_every, self.keep_within = judge, judge_every, keep_within
        self.sink = sink or Sink()
        self.save_every_steps = save_every_steps
        self.fixed_noise = latent_noise(
            params.grid_rows**2, params.latent_dim, params.noise, params.seed
        )
        self._judged_copy: keras.Model | None = None  # the generator as judged, made once
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> TrainingSession:
        self.run_dir: Path = self._stack.enter_context(self.folders.claim(self.identity))
        self.progress = self._resume_or_start()
        return self

    def __exit__(self, *exc) -> bool | None:
        return self._stack.__exit__(*exc)

    @property
    def position(self) -> tuple[int, int]:
        """(epoch, step within it) training goes on from, both 0-based."""
        return divmod(self.progress.critic_step, self.steps_per_epoch)

    def after_steps(self, last_step: int, logs: dict[str, Any]) -> None:
        """After the critic steps up to ``last_step`` (1-based): each value of ``logs`` is one
        step's, or an array of the last ``n`` steps' (a scanned epoch). In this order: a
        non-finite value stops training; the steps' own estimates join the step history; every
        ``save_every_steps`` steps a checkpoint is written (an epoch's last step is saved by
        ``after_epoch``, after its judging)."""
        values = {name: np.atleast_1d(np.asarray(v, np.float64)) for name, v in logs.items()}
        broken = {}  # the first non-finite value's step, per quantity
        for name, v in values.items():
            if not np.isfinite(v).all():
                at = int(np.argmin(np.isfinite(v)))
                broken[name] = (last_step - len(v) + 1 + at, v[at])
        if broken:
            name = min(broken, key=lambda n: broken[n][0])
            self._diverged(broken[name][0], f"{name} = {broken[name][1]}")
        if STEP_ESTIMATE in values:
            estimates = values[STEP_ESTIMATE]
            for step, estimate in enumerate(estimates.tolist(), last_step - len(estimates) + 1):
                self.progress.steps.append([step, (step - 1) // self.steps_per_epoch + 1, estimate])
        every = self.save_every_steps
        if every and last_step % every == 0 and last_step % self.steps_per_epoch:
            self.save()

    def after_epoch(self, epoch: int, logs: dict[str, Any], seconds: float) -> None:
        """After epoch ``epoch`` (1-based), whose mean ``logs`` took ``seconds``, in this order:
        the weights are checked finite, the history gains a row, the generator draws the fixed
        noise's digits, it is judged (and its moving average), the sink logs it all, and a
        checkpoint holds it (so a resumed run never loses an epoch's judging)."""
        for weight in self.wgan.weights:
            values = keras.ops.convert_to_numpy(weight)
            if values.dtype.kind == "f" and not np.isfinite(values).all():
                bad = values[~np.isfinite(values)][0]
                self._diverged(self._critic_step(), f"weight {weight.path} holds {bad}")
        row = {"epoch": epoch, **{k: float(v) for k, v in logs.items() if k != STEP_ESTIMATE}}
        row["epoch_seconds"] = seconds
        self.progress.history.append(row)
        generator = self.wgan.generator
        self.progress.samples.append(unscale_images(generator.predict_on_batch(self.fixed_noise)))
        judged = self._judge(epoch)
        self.sink.epoch(epoch, row, self.progress.samples[-1], judged, self.progress.best)
        self.save()

    def generators(self) -> tuple[keras.Model, keras.Model]:
        """The kept generator and the last epoch's, with plain Keras layers (loadable anywhere,
        no custom layer needed); without judging the last is kept."""
        last = plain_generator(self.wgan.generator)
        best = self.progress.best
        if self.progress.best_weights is None:
            return last, last
        kept = plain_generator(self.wgan.generator)
        kept.set_weights(self.progress.best_weights)
        logger.info(
            "Keeping epoch %d's %sgenerator (judged FID %s); the last epoch's is saved too.",
            best["epoch"],
            "" if best["source"] == "raw" else "moving-average ",
            three_digits(best["fid"]),
        )
        return kept, last

    def stop(self, reason: str) -> str:
        """On a signal (lifecycle.stop_cleanly): one more checkpoint; the message for the log."""
        path = self.save()
        message = (
            f"Training stopped by {reason} at critic step {self.progress.critic_step}; "
            f"checkpoint {path} written. Run the same command again to resume."
        )
        self.sink.said("interrupted", message)
        return message

    def save(self) -> Path:
        """A checkpoint of the networks, the optimizers and ``progress``, now."""
        self.progress.critic_step = self._critic_step()
        self.progress.run_id = self.sink.run_id() or self.progress.run_id
        return checkpoints.save(self.run_dir, self.wgan, self.progress, self.identity)

    def _judge(self, epoch: int) -> list[dict[str, Any]]:
        """Every ``judge_every`` epochs and after the last: the raw generator's judging and its
        moving average's, each a row of ``progress.judged``; the kept one ``progress.best``."""
        if self.judge is None or (epoch % self.judge_every and epoch != self.params.epochs):
            return []
        if self._judged_copy is None:  # judged apart: training's generator is never touched
            self._judged_copy = plain_generator(self.wgan.generator)
        rows = []
        candidates = {"raw": self.wgan.generator.get_weights()}
        ema = self.wgan.generator_ema_weights()
        if ema is not None:
            candidates["ema"] = ema
        for source, weights in candidates.items():
            self._judged_copy.set_weights(weights)
            start = time.perf_counter()
            row = {"epoch": epoch, "source": source, **self.judge(self._judged_copy)}
            row["seconds"] = time.perf_counter() - start
            self.progress.judged.append(row)
            rows.append(row)
            lowest = min(r["fid"] for r in self.progress.judged)
            if keeps(row["fid"], lowest, self.keep_within):
                self.progress.best, self.progress.best_weights = row, weights
        return rows

    def _resume_or_start(self) -> checkpoints.Progress:
        """The run folder's checkpoint restored into the WGAN, or a fresh start. The claim
        decided that this folder's checkpoint is of these settings (the one decision of
        ``checkpoints.why_incompatible``); one that cannot be read is set aside (kept, to look
        at) and the next older one tried."""
        state = [*self.wgan.variables, *self.wgan.critic_optimizer.variables,
                 *self.wgan.generator_optimizer.variables]  # fmt: skip
        # a copy to undo a partial restore with, taken only when there is something to restore
        initial = (
            [keras.ops.convert_to_numpy(v) for v in state]
            if checkpoints.latest(self.run_dir)
            else []
        )
        while (found := checkpoints.latest(self.run_dir)) is not None:
            try:
                progress = checkpoints.restore(found, self.wgan)
            except checkpoints.UnreadableCheckpoint as exc:
                for variable, value in zip(state, initial, strict=True):  # a partial restore
                    variable.assign(value)
                logger.warning("Checkpoint set aside as %s: %s.", checkpoints.set_aside(found), exc)
                continue
            epoch, step = divmod(progress.critic_step, self.steps_per_epoch)
            if epoch >= self.params.epochs:
                logger.warning(
                    "Training had finished in checkpoint %s (its outputs were not all saved): "
                    "handing its networks on, nothing to train.",
                    found,
                )
            else:
                run = f", MLflow run {progress.run_id}" if progress.run_id else ""
                logger.warning(
                    "Resuming training from checkpoint %s: epoch %d, step %d of it (critic step "
                    "%d%s).",
                    found,
                    epoch + 1,
                    step,
                    progress.critic_step,
                    run,
                )
            self.sink.resumed(progress)
            return progress
        if self.params.constraint == "clip":
            # Clip once before the first update too (the paper's code clamps before each
            # critic update), so the critic starts inside the constraint set.
            self.wgan.clip_critic_weights()
        return checkpoints.Progress()

    def _critic_step(self) -> int:
        return int(keras.ops.convert_to_numpy(self.wgan.critic_optimizer.iterations))

    def _diverged(self, step: int, what: str) -> None:
        """Stop training: the one divergence message, whichever trainer and quantity. Unlike
        Keras' TerminateOnNaN, which ends ``fit`` quietly and would let the node save a broken
        model, this raises: the node fails, nothing is saved over earlier models, the MLflow run
        is marked FAILED (tagged ``diverged``) and ``kedro run`` exits non-zero."""
        epoch = (step - 1) // self.steps_per_epoch + 1
        message = (
            f"Training diverged in epoch {epoch} at critic step {step}: {what}. Nothing was "
            "saved over earlier models. Lower training.learning_rate (or, with the gradient "
            "penalty, training.gp_weight), or with clipping training.clip_value."
        )
        self.sink.said("diverged", message)
        raise TrainingDivergedError(message)
