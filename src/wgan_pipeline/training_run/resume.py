"""Resume a training run from its run folder's latest compatible checkpoint, or start fresh:
shared by the Kedro node's training (trainer.py) and the JAX-only one (scanned.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import keras

from wgan_pipeline.gan.wgan import WGAN
from wgan_pipeline.params import TrainingParams

from . import checkpoints

logger = logging.getLogger(__name__)


def _resume(
    found: Path, wgan: WGAN, params: TrainingParams, steps_per_epoch: int, on_resume: Callable
) -> checkpoints.Progress:
    """Restore ``found`` into ``wgan``; its progress. UnreadableCheckpoint if it cannot be."""
    progress = checkpoints.restore(found, wgan)
    on_resume(progress.run_id)
    epoch, step = divmod(progress.critic_step, steps_per_epoch)
    if epoch >= params.epochs:
        logger.warning(
            "Training had finished in checkpoint %s (its outputs were not all saved): "
            "handing its networks on, nothing to train.",
            found,
        )
        return progress
    logger.warning(
        "Resuming training from checkpoint %s: epoch %d, step %d of it (critic step %d%s).",
        found,
        epoch + 1,
        step,
        progress.critic_step,
        f", MLflow run {progress.run_id}" if progress.run_id else "",
    )
    return progress


def resume_or_start(
    directory: Path,
    identity: dict,
    wgan: WGAN,
    params: TrainingParams,
    steps_per_epoch: int,
    on_resume: Callable[[str | None], None] = lambda run_id: None,
) -> checkpoints.Progress:
    """The progress of the checkpoint to resume, restored into ``wgan``, or a fresh start.
    ``on_resume`` gets the MLflow run id the checkpoint names (the pipeline closes that run)."""
    found = checkpoints.latest(directory)
    state = [*wgan.variables, *wgan.critic_optimizer.variables, *wgan.generator_optimizer.variables]
    initial = [keras.ops.convert_to_numpy(v) for v in state] if found is not None else []
    while found is not None:
        try:
            reason = checkpoints.why_incompatible(found, identity)
            if reason is None:
                return _resume(found, wgan, params, steps_per_epoch, on_resume)
        except checkpoints.UnreadableCheckpoint as exc:
            for variable, value in zip(state, initial, strict=True):  # undo a partial restore
                variable.assign(value)
            logger.warning("Checkpoint set aside as %s: %s.", checkpoints.set_aside(found), exc)
            found = checkpoints.latest(directory)  # an older good one, if any
            continue
        # run_folder.claim hands on only a folder of these settings; a checkpoint of others
        # is never deleted for this run: it stays beside the fresh one.
        logger.warning("Not resuming checkpoint %s (other settings: %s).", found, reason)
        checkpoints.set_aside(found, "other-settings")
        break
    if params.constraint == "clip":
        # Clip once before the first update too (the paper's code clamps before each critic
        # update), so the critic starts inside the constraint set.
        wgan.clip_critic_weights()
    return checkpoints.Progress()
