"""Training state on disk, so a killed `kedro run` resumes where it stopped.

Each training process works in its own folder ``run-<id>`` of the checkpoint directory, locked
(``flock``) while it lives: a run started while another trains never touches the other's
checkpoints, and a new run takes over the newest folder whose process is gone (killed).

A checkpoint is a folder ``step-NNNNNNNNN-<time>`` in the checkpoint directory holding
- ``state.weights.h5``: both networks, both optimizers (slots and iteration counts) and the
  WGAN's own counter, as Keras' ``save_weights`` writes them;
- ``progress.json``: where training stands (epoch, critic step), the noise generator's state, the
  parameters and data it belongs to, the MLflow run, and the per-epoch and per-step history;
- ``epoch_samples.npy``: the fixed-noise digits of the finished epochs.
It is written into a ``.tmp-`` folder and renamed when complete, so a crash while writing leaves
the previous checkpoint as the latest; older checkpoints are deleted after the rename.
SIGINT/SIGTERM during training write one more and stop (``stop_cleanly_on_signals``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import mlflow
import numpy as np

logger = logging.getLogger(__name__)

PREFIX = "step-"
# Parameters that do not change what a training step computes: a checkpoint stays valid when
# they change (more epochs continue a run; the others only change how it is driven or shown).
NOT_IN_FINGERPRINT = {"epochs", "steps_per_execution", "jit_compile", "grid_rows",
                      "checkpoint_every_steps"}  # fmt: skip


class CheckpointError(RuntimeError):
    """A checkpoint could not be written (e.g. a full disk); the previous one is intact."""


@dataclass
class Progress:
    """Where training stands, and what it has recorded so far."""

    critic_step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)  # one dict per finished epoch
    steps: list[list[float]] = field(default_factory=list)  # [critic_step, epoch, estimate]
    samples: list[np.ndarray] = field(default_factory=list)  # one array per finished epoch
    run_id: str | None = None  # the MLflow run that wrote it


def training_identity(params: dict[str, Any], images: np.ndarray) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the parameters that shape training and the
    training images (their count and a hash of a sample of them)."""
    sample = np.ascontiguousarray(images[:: max(1, len(images) // 1000)])
    return {
        "params": {k: v for k, v in sorted(params.items()) if k not in NOT_IN_FINGERPRINT},
        "images": len(images),
        "images_sha256": hashlib.sha256(sample.tobytes()).hexdigest(),
    }


@contextlib.contextmanager
def claim(root: Path) -> Iterator[Path]:
    """A run folder under ``root`` locked for this process: the newest one left by a dead
    process (to resume from) or a new one. Removed on leaving if it holds no checkpoint."""
    root.mkdir(parents=True, exist_ok=True)
    folder, lock = None, None
    for candidate in sorted(root.glob("run-*"), key=_newest_checkpoint, reverse=True):
        handle = _try_lock(candidate)
        if handle is None:
            continue  # a live run's
        if folder is None and latest(candidate) is not None:
            folder, lock = candidate, handle  # a dead run's checkpoints: resume them
        else:
            handle.close()  # empty or older leftovers of dead runs
            shutil.rmtree(candidate, ignore_errors=True)
    if folder is None:
        folder = root / f"run-{time.time_ns()}-{os.getpid()}"
        folder.mkdir()
        lock = _try_lock(folder)
    try:
        yield folder
    finally:
        if latest(folder) is None:
            shutil.rmtree(folder, ignore_errors=True)
        lock.close()


def _try_lock(folder: Path):
    handle = (folder / ".lock").open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _newest_checkpoint(folder: Path) -> str:
    found = latest(folder)
    return found.name if found else ""


def latest(directory: Path) -> Path | None:
    """The newest complete checkpoint in ``directory``, or None."""
    found = sorted(directory.glob(f"{PREFIX}*")) if directory.is_dir() else []
    return found[-1] if found else None


def why_incompatible(checkpoint: Path, identity: dict[str, Any]) -> str | None:
    """None if ``checkpoint`` can be resumed for ``identity``, else the reason in words."""
    saved = json.loads((checkpoint / "progress.json").read_text())["identity"]
    if saved == identity:
        return None
    changed = [
        f"training.{key} {saved['params'].get(key)!r} -> {value!r}"
        for key, value in identity["params"].items()
        if saved["params"].get(key) != value
    ]
    if (saved["images"], saved["images_sha256"]) != (identity["images"], identity["images_sha256"]):
        changed.append(f"the training images ({saved['images']} -> {identity['images']})")
    return ", ".join(changed) or "its format"


def save(directory: Path, model: keras.Model, progress: Progress, identity: dict) -> Path:
    """Write a checkpoint atomically; delete the older ones. Returns its folder."""
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{PREFIX}{progress.critic_step:09d}-{time.time_ns()}"  # sorts by step, then time
    final, tmp = directory / name, directory / f".tmp-{name}"
    tmp.mkdir()
    try:
        start = time.perf_counter()
        model.save_weights(tmp / "state.weights.h5")
        np.save(tmp / "epoch_samples.npy", np.asarray(progress.samples, np.uint8))
        record = {
            "critic_step": progress.critic_step,
            "noise_state": keras.ops.convert_to_numpy(model.noise_seed.state).tolist(),
            "identity": identity,
            "run_id": progress.run_id,
            "history": progress.history,
            "steps": progress.steps,
        }
        (tmp / "progress.json").write_text(json.dumps(record))
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        previous = latest(directory)
        raise CheckpointError(
            f"Could not write the checkpoint {final}: {exc.strerror or exc}. "
            + (
                f"The previous one, {previous}, is intact: free some disk space and run the "
                "same command to resume from it."
                if previous
                else "Free some disk space and run again."
            )  # fmt: skip
        ) from exc
    tmp.rename(final)  # the checkpoint exists from here on, complete
    for other in directory.glob(f"{PREFIX}*"):  # one process a folder: the rest are older
        if other != final:
            shutil.rmtree(other, ignore_errors=True)
    for leftover in directory.glob(".tmp-*"):  # from a crash while writing (one process a folder)
        shutil.rmtree(leftover, ignore_errors=True)
    logger.debug("Checkpoint %s written in %.2f s.", final, time.perf_counter() - start)
    return final


def restore(checkpoint: Path, model: keras.Model) -> Progress:
    """Load a checkpoint into ``model`` (built and compiled) and return its progress."""
    model.load_weights(checkpoint / "state.weights.h5")
    record = json.loads((checkpoint / "progress.json").read_text())
    model.noise_seed.state.assign(np.asarray(record["noise_state"], dtype="uint32"))
    samples = np.load(checkpoint / "epoch_samples.npy")
    return Progress(
        critic_step=record["critic_step"],
        history=record["history"],
        steps=record["steps"],
        samples=list(samples),
        run_id=record["run_id"],
    )


def clear(directory: Path) -> None:
    """Remove every checkpoint (training finished: the next run starts fresh)."""
    for path in [*directory.glob(f"{PREFIX}*"), *directory.glob(".tmp-*")]:
        shutil.rmtree(path, ignore_errors=True)


class Checkpoint(keras.callbacks.Callback):
    """Saves the training state after every epoch and, with ``every_steps``, every that many
    critic steps. ``progress`` is shared with the recording callbacks, which fill it."""

    def __init__(
        self, directory: Path, progress: Progress, identity: dict, every_steps: int | None
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
        return save(self.directory, self.model, self.progress, self.identity)

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.critic_optimizer.iterations.numpy())
        if self.every_steps and step % self.every_steps == 0:
            self.save_now()

    def on_epoch_end(self, epoch, logs=None):
        self.save_now()


@contextlib.contextmanager
def stop_cleanly_on_signals(checkpoint: Checkpoint):
    """SIGINT/SIGTERM: write a checkpoint and raise TrainingInterrupted, which the project's
    MLflow hook closes the run with as KILLED (the run exits non-zero; the same command
    resumes)."""

    def interrupt(signum, frame):
        raise TrainingInterrupted(signal.Signals(signum).name)

    # Python delivers signals to the main thread only (other runners: Ctrl-C as Kedro handles it)
    in_main = threading.current_thread() is threading.main_thread()
    signals = (signal.SIGINT, signal.SIGTERM) if in_main else ()
    previous = {sig: signal.signal(sig, interrupt) for sig in signals}
    try:
        yield
    except (TrainingInterrupted, KeyboardInterrupt) as exc:
        if in_main:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # no second interrupt while saving
        path = checkpoint.save_now()
        message = (
            f"Training stopped by {str(exc) or 'SIGINT'} at critic step "
            f"{checkpoint.progress.critic_step}; "
            f"checkpoint {path} written. Run the same command again to resume."
        )
        if mlflow.active_run() is not None:
            mlflow.set_tag("interrupted", message)
        raise TrainingInterrupted(message) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class TrainingInterrupted(RuntimeError):
    """SIGINT or SIGTERM during training; a checkpoint was written."""
