"""What training records and reports while it runs: Keras callbacks, one per behaviour. Only
``MlflowLiveLogger`` and ``Checkpoint`` talk to MLflow, and only to a run that is active."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import keras
import mlflow
import numpy as np

from wgan_pipeline.gan.errors import TrainingDivergedError
from wgan_pipeline.gan.images import image_grid, unscale_images
from wgan_pipeline.gan.judge import keeps
from wgan_pipeline.lifecycle import mark_killed

from . import checkpoints

logger = logging.getLogger(__name__)


class EpochTimer(keras.callbacks.Callback):
    """Adds ``epoch_seconds`` (wall time of the epoch) to the epoch's logs and so to the history."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


class StopOnDivergence(keras.callbacks.Callback):
    """Stops training at the first non-finite loss (checked every step) or weight (checked every
    epoch) with an error naming the epoch, the critic step, the quantity and its value.

    Unlike Keras' TerminateOnNaN, which ends ``fit`` quietly and would let the node save a
    broken model, this raises: the node fails, nothing is saved over earlier models, the MLflow
    run is marked FAILED (tagged ``diverged`` with the same words) and ``kedro run`` exits
    non-zero.
    """

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        for name, value in (logs or {}).items():
            if not np.isfinite(value):
                self._fail(f"{name} = {float(value)}")

    def on_epoch_end(self, epoch, logs=None):
        for weight in self.model.weights:
            values = keras.ops.convert_to_numpy(weight)
            if values.dtype.kind == "f" and not np.isfinite(values).all():
                self._fail(f"weight {weight.path} holds {values[~np.isfinite(values)][0]}")

    def _fail(self, what: str) -> None:
        step = int(self.model.critic_optimizer.iterations.numpy())
        message = (
            f"Training diverged in epoch {self._epoch} at critic step {step}: {what}. "
            "Nothing was saved over earlier models. Lower training.learning_rate (or, with the "
            "gradient penalty, training.gp_weight), or with clipping training.clip_value."
        )
        if mlflow.active_run() is not None:
            mlflow.set_tag("diverged", message)
        raise TrainingDivergedError(message)


class StepHistory(keras.callbacks.Callback):
    """Records each critic step's own Wasserstein estimate (the WGAN paper's training curve).

    ``WGAN.train_step`` reports it as ``step_wasserstein_estimate``; it is taken out of the
    epoch's logs, whose ``wasserstein_estimate`` is the epoch mean. With steps_per_execution
    k > 1 Keras reports every k-th step only.
    """

    KEY = "step_wasserstein_estimate"

    def __init__(self, rows: list | None = None):
        super().__init__()
        self.rows = rows if rows is not None else []  # [critic_step, epoch, estimate]
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        if logs and self.KEY in logs:
            step = int(self.model.critic_optimizer.iterations.numpy())
            self.rows.append([step, self._epoch, float(logs[self.KEY])])

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs.pop(self.KEY, None)


class EpochSamples(keras.callbacks.Callback):
    """After every epoch: the generator's digits from the same fixed noise, as uint8 pixels."""

    def __init__(self, fixed_noise: np.ndarray, samples: list | None = None):
        super().__init__()
        self.fixed_noise = fixed_noise
        self.samples = samples if samples is not None else []

    def on_epoch_end(self, epoch, logs=None):
        self.samples.append(unscale_images(self.model.generator.predict_on_batch(self.fixed_noise)))


class EpochHistory(keras.callbacks.Callback):
    """Records each finished epoch's logs (after EpochTimer added its seconds), like Keras'
    History but into a list that outlives ``fit`` (a resumed run continues it)."""

    def __init__(self, records: list | None = None):
        super().__init__()
        self.records = records if records is not None else []

    def on_epoch_end(self, epoch, logs=None):
        self.records.append({"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}})


class MlflowLiveLogger(keras.callbacks.Callback):
    """After every epoch: the epoch's metrics as MLflow metric histories (step = epoch number,
    1-based) and the latest fixed-noise samples as a grid, twice: a step-indexed image
    ``samples`` (step = epoch number), which the UI's Chart view shows with a slider, runs side
    by side, and the same grid as the file ``samples/epoch_NNN.png``, to download or open by
    name. Comes after ``samples`` in the callback list.

    Does nothing when no MLflow run is active (tests, notebooks), so training never depends on it.
    """

    def __init__(
        self,
        samples: EpochSamples,
        grid_rows: int,
        artifact_dir: str = "samples",
        image_key: str = "samples",
    ):
        super().__init__()
        self.samples = samples
        self.grid_rows = grid_rows
        self.artifact_dir = artifact_dir
        self.image_key = image_key

    def on_epoch_end(self, epoch, logs=None):
        if mlflow.active_run() is None:
            return
        step = epoch + 1
        metrics = {k: float(v) for k, v in (logs or {}).items() if np.isfinite(v)}
        mlflow.log_metrics(metrics, step=step)
        grid = image_grid(self.samples.samples[-1], rows=self.grid_rows)
        # synchronous: MLflow's default for a keyed image is a background upload, which a kill
        # (or the run's end) could cut short
        mlflow.log_image(grid, key=self.image_key, step=step, synchronous=True)
        mlflow.log_image(grid, artifact_file=f"{self.artifact_dir}/epoch_{step:03d}.png")


class JudgeEpochs(keras.callbacks.Callback):
    """Every ``every`` epochs and after the last one, the generator is judged (gan/judge.py),
    and so is its moving average when training keeps one. Each judging is a row of
    ``progress.judged``; the kept one (``gan.judge.keeps``: the latest within ``keep_within`` of
    the lowest FID so far) is ``progress.best``, its weights ``progress.best_weights`` (part of
    the checkpoint). Logged live when an MLflow run is active: ``judge.<metric>``
    (``judge_ema.<metric>``) with the epoch as step, ``best_fid`` and ``best_epoch`` (the kept
    one's). Comes before ``Checkpoint`` in the callback list."""

    def __init__(
        self,
        judge,
        every: int,
        last_epoch: int,
        progress: checkpoints.Progress,
        keep_within: float = 0.0,
    ):
        super().__init__()
        self.judge, self.every, self.last_epoch, self.progress = judge, every, last_epoch, progress
        self.keep_within = keep_within

    def on_epoch_end(self, epoch, logs=None):
        step = epoch + 1
        if step % self.every and step != self.last_epoch:
            return
        generator = self.model.generator
        raw = generator.get_weights()
        candidates = [("raw", raw)]
        ema = self.model.generator_ema_weights()
        if ema is not None:
            candidates.append(("ema", ema))
        for source, weights in candidates:
            start = time.perf_counter()
            generator.set_weights(weights)
            row = {"epoch": step, "source": source, **self.judge(generator)}
            row["seconds"] = time.perf_counter() - start
            self.progress.judged.append(row)
            lowest = min(r["fid"] for r in self.progress.judged)
            if keeps(row["fid"], lowest, self.keep_within):
                self.progress.best, self.progress.best_weights = row, weights
            self._log(row, "judge" if source == "raw" else "judge_ema")
        generator.set_weights(raw)
        best = self.progress.best
        if mlflow.active_run() is not None:
            mlflow.log_metrics({"best_fid": best["fid"], "best_epoch": best["epoch"]}, step=step)
            mlflow.set_tag("best_generator", f"epoch {best['epoch']} ({best['source']})")

    @staticmethod
    def _log(row: dict, prefix: str) -> None:
        if mlflow.active_run() is None:
            return
        metrics = {
            f"{prefix}.{k}": float(v) for k, v in row.items() if k not in ("epoch", "source")
        }
        mlflow.log_metrics(metrics, step=row["epoch"])


class Checkpoint(keras.callbacks.Callback):
    """Saves the training state after every epoch and, with ``every_steps``, every that many
    critic steps. ``progress`` is shared with the recording callbacks, which fill it."""

    def __init__(
        self,
        directory: Path,
        progress: checkpoints.Progress,
        identity: dict,
        every_steps: int | None,
    ):
        super().__init__()
        self.directory, self.progress, self.identity = directory, progress, identity
        self.every_steps = every_steps

    def on_train_begin(self, logs=None):
        run = mlflow.active_run()
        if run is not None and self.progress.run_id not in (None, run.info.run_id):
            # resumed from a checkpoint another (killed) run wrote
            mlflow.set_tags({"resumed_from_run": self.progress.run_id,
                             "resumed_at_critic_step": self.progress.critic_step})  # fmt: skip

    def save_now(self) -> Path:
        self.progress.critic_step = int(self.model.critic_optimizer.iterations.numpy())
        if mlflow.active_run() is not None:
            self.progress.run_id = mlflow.active_run().info.run_id
        return checkpoints.save(self.directory, self.model, self.progress, self.identity)

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.critic_optimizer.iterations.numpy())
        # An epoch's last step is saved by on_epoch_end, after that epoch's judging: a
        # checkpoint from before it would resume without it and could keep another generator.
        steps = self.params.get("steps")
        last = steps is not None and batch + 1 >= steps
        if self.every_steps and step % self.every_steps == 0 and not last:
            self.save_now()

    def on_epoch_end(self, epoch, logs=None):
        self.save_now()

    def stop(self, reason: str) -> str:
        """On a signal (lifecycle.stop_cleanly): one more checkpoint; the message for the log."""
        path = self.save_now()
        message = (
            f"Training stopped by {reason} at critic step {self.progress.critic_step}; "
            f"checkpoint {path} written. Run the same command again to resume."
        )
        if mlflow.active_run() is not None:
            mlflow.set_tag("interrupted", message)
        return message


def close_dead_run(run_id: str | None) -> None:
    """The MLflow run that wrote a checkpoint being resumed died with its process (a SIGKILL
    leaves it RUNNING): mark it KILLED. Only with a run of our own active, in the same store."""
    if run_id is None or mlflow.active_run() is None or mlflow.active_run().info.run_id == run_id:
        return
    mark_killed(mlflow.MlflowClient(), run_id, "was killed while it trained", if_running=True)
