"""Describe the generators for MLflow, judge the registered champion with this run's judge when
its own was another, and hand the verdict (registry/champion.py) to the catalog entry that
registers the kept generator (datasets/mlflow_generator.py)."""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

import keras
import numpy as np
import pandas as pd

from wgan_pipeline.console import three_digits
from wgan_pipeline.gan.images import scale_images
from wgan_pipeline.gan.judge import classifier_identity, draw_digits
from wgan_pipeline.gan.metrics import frechet_distance
from wgan_pipeline.gan.models import feature_extractor, predict_in_batches
from wgan_pipeline.params import DataParams, EvaluationParams, TrainingParams, check_data_set
from wgan_pipeline.registry.champion import JUDGE_KEYS, champion_verdict, same_judge

logger = logging.getLogger(__name__)


def describe_kept(
    metrics: pd.DataFrame,
    judge_history: pd.DataFrame,
    classifier: keras.Model,
    evaluation: EvaluationParams,
    training: TrainingParams,
    data: DataParams,
) -> dict[str, Any]:
    """The kept generator's tags: the final evaluation's FID and its judge (the classifier's
    hash, the image count and seed), the epoch and source (raw or EMA) it was kept from, the
    noise, latent size and architecture it was trained with (``generator_identity``) and the
    whole training configuration."""
    generated = metrics.set_index("set").loc["generated"]
    kept = _kept_row(judge_history, training)
    logger.info(
        "The final evaluation judged epoch %d's %s generator: FID %.3g on %d images.",
        kept["epoch"],
        kept["source"],
        generated["fid"],
        evaluation.n_samples,
    )
    return {
        "fid": float(generated["fid"]),
        "judge": classifier_identity(classifier),
        "judge_samples": evaluation.n_samples,
        "judge_seed": evaluation.seed,
        **kept,
        "dataset": data.dataset,
        **generator_identity(training),
        "training": json.dumps(training.model_dump(), sort_keys=True),
    }


def describe_last(judge_history: pd.DataFrame, training: TrainingParams) -> dict[str, Any]:
    """The last epoch's generator's tags: its epoch, the noise, latent size and architecture it
    was trained with (``generator_identity``) and, when it was judged, its FID."""
    tags: dict[str, Any] = {
        "epoch": training.epochs,
        "source": "raw",
        **generator_identity(training),
    }
    last = judge_history[
        (judge_history["epoch"] == training.epochs) & (judge_history["source"] == "raw")
    ]
    if len(last):
        tags["judge_fid"] = float(last["fid"].iloc[0])
    return tags


def generator_identity(training: TrainingParams) -> dict[str, Any]:
    """What a logged generator must say of itself, from this run's ``params:training``: the
    noise it was trained on (its model config: the bound it is served with), its latent size and
    its architecture. Both logged generators carry them (datasets/mlflow_generator.py refuses
    tags without them)."""
    return {
        "noise": training.noise,
        "latent_dim": training.latent_dim,
        "architecture": training.architecture,
    }


def _kept_row(judge_history: pd.DataFrame, training: TrainingParams) -> dict[str, Any]:
    kept = judge_history[judge_history["kept"].astype(bool)] if len(judge_history) else []
    if not len(kept):  # not judged while training: the last epoch's
        return {"epoch": training.epochs, "source": "raw"}
    row = kept.iloc[0]
    return {"epoch": int(row["epoch"]), "source": row["source"], "judge_fid": float(row["fid"])}


def judge_champion(
    champion: dict[str, Any] | None,
    candidate: dict[str, Any],
    classifier: keras.Model,
    raw: dict[str, np.ndarray],
    evaluation: EvaluationParams,
    data: DataParams,
) -> dict[str, Any]:
    """The registered champion's FID under this run's judge: its own tag when it was judged by
    the same one; otherwise it is judged again, exactly as the final evaluation judges (the
    same noise seed and count, against the data set's test images). Empty without a champion.
    A champion that cannot be judged here keeps its own judge's tags (and is not compared)."""
    if champion is None:
        return {}  # Kedro saves no None
    tags = champion["tags"]
    record = {"version": champion["version"], **{k: tags.get(k) for k in JUDGE_KEYS}}
    if same_judge(candidate, tags):
        return {**record, "fid": float(tags["fid"]), "rejudged": False}
    noise: Literal["uniform", "normal"] = tags.get("noise", "uniform")  # type: ignore[assignment]
    try:
        check_data_set(champion["generator"], "generator", data.dataset)
        samples = draw_digits(
            champion["generator"],
            evaluation.n_samples,
            noise,
            evaluation.seed,
            evaluation.batch_size,
        )
    except ValueError as exc:
        logger.warning("The champion (version %s) cannot be re-judged: %s", record["version"], exc)
        return {**record, "fid": float(tags.get("fid", "nan")), "rejudged": False}
    extractor = feature_extractor(classifier)
    test, generated = (
        predict_in_batches(extractor, scale_images(images), evaluation.batch_size)[0]
        for images in (raw["x_test"], samples)
    )
    fid = frechet_distance(test, generated)
    logger.info(
        "The champion (version %s, FID %s under its own judge) re-judged by this run's: FID %s.",
        record["version"],
        three_digits(float(tags["fid"])) if "fid" in tags else "unknown",
        three_digits(fid),
    )
    return {
        "version": record["version"],
        **{k: candidate[k] for k in JUDGE_KEYS},
        "fid": fid,
        "rejudged": True,
    }


def release_kept(
    generator: keras.Model, candidate: dict[str, Any], champion: dict[str, Any]
) -> dict[str, Any]:
    """The kept generator, its tags and the champion's verdict, for the registry's entry."""
    verdict = champion_verdict(candidate, champion or None)
    return {"model": generator, "tags": candidate, "crown": verdict.crown, "reason": verdict.reason}


def release_last(generator_last: keras.Model, tags: dict[str, Any]) -> dict[str, Any]:
    """The last epoch's generator and its tags, logged beside the kept one (not registered)."""
    return {"model": generator_last, "tags": tags}
