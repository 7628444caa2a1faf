"""Training state on disk, so a killed `kedro run` resumes where it stopped.

A checkpoint is a folder ``step-NNNNNNNNN-<time>`` in a run folder (run_folder.py) holding
- ``state.weights.h5``: both networks, both optimizers (slots and iteration counts) and the
  WGAN's own counter, as Keras' ``save_weights`` writes them;
- ``progress.json``: where training stands (epoch, critic step), the noise generator's state, the
  parameters and data it belongs to, the MLflow run, and the per-epoch and per-step history;
- ``epoch_samples.npy``: the fixed-noise digits of the finished epochs;
- ``best_generator.npz``: the weights of the kept generator so far (when judged), so a resumed
  run keeps the one kept before the kill.
It is written into a ``.tmp-`` folder and renamed when complete, so a crash while writing leaves
the previous checkpoint as the latest; older checkpoints are deleted after the rename.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from wgan_pipeline.durable import fsync
from wgan_pipeline.gan.errors import CheckpointError

if TYPE_CHECKING:
    import keras

logger = logging.getLogger(__name__)

PREFIX = "step-"
TRAINERS = {"fit": "kedro run", "scanned": "scripts/train_jax.py"}  # what runs each trainer
# Parameters that do not change what a training step computes: a checkpoint stays valid when
# they change (more epochs continue a run; the others only change how it is driven or shown).
NOT_IN_FINGERPRINT = {"epochs", "steps_per_execution", "jit_compile", "grid_rows",
                      "checkpoint_every_steps"}  # fmt: skip


@dataclass
class Progress:
    """Where training stands, and what it has recorded so far."""

    critic_step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)  # one dict per finished epoch
    steps: list[list[float]] = field(default_factory=list)  # [critic_step, epoch, estimate]
    samples: list[np.ndarray] = field(default_factory=list)  # one array per finished epoch
    run_id: str | None = None  # the MLflow run that wrote it
    judged: list[dict[str, Any]] = field(default_factory=list)  # one dict per judging
    best: dict[str, Any] | None = None  # the judged row of the kept generator so far
    best_weights: list[np.ndarray] | None = (
        None  # its weights, in ``generator.get_weights()`` order
    )


def training_identity(
    params: dict[str, Any], images: np.ndarray, trainer: str = "fit"
) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the parameters that shape training, the
    training images (their count and a hash of a sample of them) and the trainer (``fit`` or
    ``scanned``: each orders an epoch's images its own way). A learning rate that decays to 0 at
    the last epoch makes the epochs shape every step, so they count then."""
    sample = np.ascontiguousarray(images[:: max(1, len(images) // 1000)])
    ignored = NOT_IN_FINGERPRINT - ({"epochs"} if params.get("lr_schedule") == "linear" else set())
    return {
        "params": {k: v for k, v in sorted(params.items()) if k not in ignored},
        "images": len(images),
        "images_sha256": hashlib.sha256(sample.tobytes()).hexdigest(),
        "trainer": trainer,
    }


def latest(directory: Path) -> Path | None:
    """The newest complete checkpoint in ``directory``, or None."""
    found = sorted(directory.glob(f"{PREFIX}*")) if directory.is_dir() else []
    return found[-1] if found else None


class UnreadableCheckpoint(RuntimeError):
    """A checkpoint whose files cannot be read (e.g. emptied by a power cut)."""


def read_record(checkpoint: Path) -> dict[str, Any]:
    """``progress.json`` of ``checkpoint``, or UnreadableCheckpoint naming the file."""
    path = checkpoint / "progress.json"
    try:
        record = json.loads(path.read_text())
        record["identity"], record["critic_step"]  # noqa: B018 (present, or KeyError)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UnreadableCheckpoint(f"{path} cannot be read ({type(exc).__name__}: {exc})") from exc
    return record


def set_aside(checkpoint: Path) -> Path:
    """Rename a checkpoint that cannot be read out of the way, kept (to look at):
    ``broken-<name>``."""
    target = checkpoint.with_name(f"broken-{checkpoint.name}")
    checkpoint.rename(target)
    return target


def why_incompatible(checkpoint: Path, identity: dict[str, Any]) -> str | None:
    """Whether ``checkpoint`` can be resumed for ``identity``: None if it can, else the reason
    in words. The one decision (run_folder.claim asks it of every dead run's folder). An
    unreadable one is None too: resuming sets it aside (TrainingSession)."""
    try:
        saved = {"trainer": "fit", **read_record(checkpoint)["identity"]}  # older ones: fit's
    except UnreadableCheckpoint:
        return None
    identity = {"trainer": "fit", **identity}
    if saved == identity:
        return None
    changed = [
        f"training.{key} {saved['params'].get(key)!r} -> {value!r}"
        for key, value in identity["params"].items()
        if saved["params"].get(key) != value
    ]
    if (saved["images"], saved["images_sha256"]) != (identity["images"], identity["images_sha256"]):
        changed.append(f"the training images ({saved['images']} -> {identity['images']})")
    if saved["trainer"] != identity["trainer"]:
        changed.append(
            f"the trainer ({TRAINERS.get(saved['trainer'], saved['trainer'])}, not "
            f"{TRAINERS.get(identity['trainer'], identity['trainer'])}: each orders an epoch's "
            "images its own way)"
        )
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
        if progress.best_weights is not None:
            np.savez(tmp / "best_generator.npz", *progress.best_weights)
        record = {
            "critic_step": progress.critic_step,
            "noise_state": np.asarray(model.noise_seed.state).tolist(),
            "identity": identity,
            "run_id": progress.run_id,
            "history": progress.history,
            "steps": progress.steps,
            "judged": progress.judged,
            "best": progress.best,
        }
        (tmp / "progress.json").write_text(json.dumps(record))
        for written in tmp.iterdir():  # on the disk before the rename makes them the checkpoint
            fsync(written)
        fsync(tmp)
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
    fsync(directory)  # and the rename too, before older checkpoints go
    for other in directory.glob(f"{PREFIX}*"):  # one process a folder: the rest are older
        if other != final:
            shutil.rmtree(other, ignore_errors=True)
    for leftover in directory.glob(".tmp-*"):  # from a crash while writing (one process a folder)
        shutil.rmtree(leftover, ignore_errors=True)
    logger.debug("Checkpoint %s written in %.2f s.", final, time.perf_counter() - start)
    return final


def restore(checkpoint: Path, model: keras.Model) -> Progress:
    """Load a checkpoint into ``model`` (built and compiled) and return its progress;
    UnreadableCheckpoint if its files cannot be read."""
    record = read_record(checkpoint)
    try:
        model.load_weights(checkpoint / "state.weights.h5")
        model.noise_seed.state.assign(np.asarray(record["noise_state"], dtype="uint32"))
        samples = np.load(checkpoint / "epoch_samples.npy")
        best_weights = None
        if record.get("best") is not None:
            with np.load(checkpoint / "best_generator.npz") as saved:
                best_weights = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    except (OSError, ValueError, KeyError) as exc:
        raise UnreadableCheckpoint(f"{checkpoint} cannot be restored ({exc})") from exc
    return Progress(
        critic_step=record["critic_step"],
        history=record["history"],
        steps=record["steps"],
        samples=list(samples),
        run_id=record["run_id"],
        judged=record.get("judged", []),
        best=record.get("best"),
        best_weights=best_weights,
    )
