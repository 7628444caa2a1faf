"""Describe the generators for MLflow from their own training's record and evaluation, judge
the registered champion with this run's judge when its own was another, and hand the verdict (registry/champion.py) to the catalog entry that
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
from wgan_pipeline.gan.judge import classifier_identity, draw_digits, model_identity
from wgan_pipeline.gan.metrics import frechet_distance
from wgan_pipeline.gan.models import feature_extractor, predict_in_batches
from wgan_pipeline.params import DataParams, EvaluationParams, TrainingParams, check_data_set
from wgan_pipeline.registry.champion import JUDGE_KEYS, champion_verdict, same_judge
from wgan_pipeline.registry.provenance import check_provenance

logger = logging.getLogger(__name__)


def describe_kept(
    metrics: pd.DataFrame,
    record: dict[str, Any],
    generator: keras.Model,
    classifier: keras.Model,
    evaluation: EvaluationParams,
    training: TrainingParams,
) -> dict[str, Any]:
    """The kept generator's tags: the final evaluation's FID and its judge (the classifier's
    hash, the image count and seed), the epoch and source (raw or EMA) it was kept from, the
    noise, latent size and architecture it was trained with (``generator_identity``), the data
    set and the whole training configuration: all from its own training's record and its own
    evaluation, refused (registry/provenance.py) when either is of another generator.
    ``training``, this run's, only shapes the command that message names."""
    check_provenance({"generator": model_identity(generator)}, record, metrics,
                     training=training.model_dump(mode="json"))  # fmt: skip
    generated = metrics.set_index("set").loc["generated"]
    trained = record["generator"]
    kept = {k: trained[k] for k in ("epoch", "source", "judge_fid") if k in trained}
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
        "dataset": record["dataset"],
        **generator_identity(record["training"]),
        "training": json.dumps(record["training"], sort_keys=True),
    }


def describe_last(record: dict[str, Any], generator_last: keras.Model) -> dict[str, Any]:
    """The last epoch's generator's tags, from its training's record (refused when the record is
    of another generator): its epoch, the noise, latent size and architecture it was trained
    with (``generator_identity``) and, when it was judged, its FID."""
    check_provenance({"generator_last": model_identity(generator_last)}, record, None)
    last = record["generator_last"]
    return {
        **{k: last[k] for k in ("epoch", "source", "judge_fid") if k in last},
        **generator_identity(record["training"]),
    }


def generator_identity(training: dict[str, Any]) -> dict[str, Any]:
    """What a logged generator must say of itself, from the training settings it was trained
    with (its training record's): the noise it was trained on (its model config: the bound it
    is served with), its latent size and its architecture. Both logged generators carry them
    (datasets/mlflow_generator.py refuses tags without them)."""
    return {key: training[key] for key in ("noise", "latent_dim", "architecture")}


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
