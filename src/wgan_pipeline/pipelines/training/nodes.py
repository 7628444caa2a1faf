"""Train the WGAN (training_run.trainer does the work) and hand its results to the catalog."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pandas as pd

from wgan_pipeline.gan.judge import Judge, model_identity
from wgan_pipeline.params import (
    DataParams,
    EvaluationParams,
    TrainingParams,
    check_data_set,
    model_name,
)
from wgan_pipeline.training_run.run_folder import RunFolders
from wgan_pipeline.training_run.trainer import TrainingResult, train


def train_wgan(
    training_images: np.ndarray,
    params: TrainingParams,
    checkpoints_folder: RunFolders,
    data: DataParams,
    classifier: keras.Model,
    raw: dict[str, np.ndarray],
    evaluation: EvaluationParams,
) -> tuple[
    keras.Model,
    keras.Model,
    keras.Model,
    pd.DataFrame,
    pd.DataFrame,
    np.ndarray,
    pd.DataFrame,
    dict[str, Any],
]:
    """WGAN training as ``params`` set it: by default the chapter's (clipping, RMSprop).

    Every ``evaluation.every_epochs`` epochs (and after the last) the generator is judged by
    ``classifier`` on ``evaluation.judge_samples`` images from fixed noise against the test set
    (and so is its moving average, with ``training.ema_decay``); the latest one within
    ``evaluation.keep_within`` of the lowest FID is the returned generator. With
    ``every_epochs`` null the last one is.

    Returns the kept generator, the last epoch's, the critic, a per-epoch history (critic loss,
    generator loss, Wasserstein estimate, epoch seconds), a per-critic-step Wasserstein
    estimate, the fixed-noise samples after every epoch (uint8, (epochs, grid_rows**2, 28, 28)),
    the judgings (one row per epoch and source, ``kept`` marking the kept one) and the training's
    record of what it saved (``training_record``).

    Checkpoints go to a run folder of ``checkpoints_folder`` every epoch (and every
    ``checkpoint_every_steps``); a compatible checkpoint found there at the start is resumed,
    with the best generator so far; the final one is removed once every output of the run is
    saved (hooks/lifecycle.py). SIGINT and SIGTERM write a checkpoint, mark the MLflow run
    KILLED and stop (lifecycle.py). The generators are named after the data set (``mnist_generator``), so the
    evaluation refuses them for another data set.
    """
    judge = None
    if evaluation.every_epochs is not None:
        check_data_set(classifier, "classifier", data.dataset)
        judge = Judge(
            classifier,
            raw["x_test"],
            n=evaluation.judge_samples,
            latent_dim=params.latent_dim,
            noise=params.noise,
            seed=evaluation.seed,
            batch_size=evaluation.batch_size,
            k_precision_recall=evaluation.k_precision_recall,
            k_density_coverage=evaluation.k_density_coverage,
            score_splits=evaluation.score_splits,
        )
    result = train(
        training_images,
        params,
        checkpoints_folder,
        model_name("generator", data.dataset),
        judge=judge,
        judge_every=evaluation.every_epochs,
        keep_within=evaluation.keep_within,
    )
    return (
        result.generator,
        result.generator_last,
        result.critic,
        result.history,
        result.steps,
        result.epoch_samples,
        result.judged,
        training_record(result, params, data),
    )


def training_record(
    result: TrainingResult, params: TrainingParams, data: DataParams
) -> dict[str, Any]:
    """What the release says of the two generators this training saved, saved beside them: each
    one's weight hash (``model_identity``: the release refuses a generator the record does not
    describe, one another run saved), the epoch and source it was kept from and its FID while
    training, the data set and the whole training configuration. The release takes them from
    here, never from its own run's parameters or from files another run rewrote."""
    judged = result.judged
    kept = judged[judged["kept"].astype(bool)] if len(judged) else judged
    kept_epoch: dict[str, Any] = {"epoch": params.epochs, "source": "raw"}  # nothing judged
    if len(kept):
        row = kept.iloc[0]
        kept_epoch = {"epoch": int(row["epoch"]), "source": str(row["source"]),
                      "judge_fid": float(row["fid"])}  # fmt: skip
    last_epoch: dict[str, Any] = {"epoch": params.epochs, "source": "raw"}
    if len(judged):
        last = judged[(judged["epoch"] == params.epochs) & (judged["source"] == "raw")]
        if len(last):
            last_epoch["judge_fid"] = float(last["fid"].iloc[0])
    return {
        "generator": {"identity": model_identity(result.generator), **kept_epoch},
        "generator_last": {"identity": model_identity(result.generator_last), **last_epoch},
        "dataset": data.dataset,
        "training": params.model_dump(mode="json"),
    }
