"""Draw images from the trained generator and judge them with the data set's classifier against
real images (the floor) and uniform noise (the ceiling); the pictures are the reporting's."""

from __future__ import annotations

from typing import Literal

import keras
import numpy as np
import pandas as pd

from wgan_pipeline.gan.images import scale_images
from wgan_pipeline.gan.judge import draw_digits, model_identity
from wgan_pipeline.gan.metrics import scorecard
from wgan_pipeline.gan.models import feature_extractor, predict_in_batches
from wgan_pipeline.params import DataParams, EvaluationParams, check_data_set

# The image sets judged against the data set's test set: generated images, real training images
# (the floor: what a perfect generator would score) and uniform pixel noise (the ceiling).
SETS = ("generated", "real", "noise")


def generate_samples(
    generator: keras.Model,
    params: EvaluationParams,
    noise_kind: Literal["uniform", "normal"],
    data: DataParams,
) -> np.ndarray:
    """``n_samples`` images as uint8 (N, 28, 28), from noise fixed by ``params.seed``."""
    check_data_set(generator, "generator", data.dataset)
    return draw_digits(generator, params.n_samples, noise_kind, params.seed, params.batch_size)


def extract_features(
    classifier: keras.Model,
    raw: dict[str, np.ndarray],
    generated_samples: np.ndarray,
    params: EvaluationParams,
    data: DataParams,
) -> dict[str, dict[str, np.ndarray]]:
    """Features (the classifier's penultimate layer) and class probabilities of the data set's
    test set (the reference) and of every set in ``SETS``; also the test labels, for the
    accuracy. A classifier of another data set is refused: its numbers would mean nothing."""
    check_data_set(classifier, "classifier", data.dataset)
    extractor = feature_extractor(classifier)
    rng = np.random.default_rng(params.seed)
    n = params.n_reference
    if len(raw["x_train"]) < n:
        raise ValueError(
            f"evaluation.n_reference is {n} but {data.dataset} has only {len(raw['x_train'])} "
            "training images: lower evaluation.n_reference."
        )
    images = {
        "test": raw["x_test"],
        "generated": generated_samples,
        "real": raw["x_train"][:n],
        "noise": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
    }
    values, probabilities = predict_in_batches(
        extractor, scale_images(np.concatenate(list(images.values()))), params.batch_size
    )
    ends = np.cumsum([len(pixels) for pixels in images.values()])
    features = {
        name: {"features": f, "probabilities": p}
        for name, f, p in zip(
            images, np.split(values, ends[:-1]), np.split(probabilities, ends[:-1]), strict=True
        )
    }
    features["test"]["labels"] = raw["y_test"]
    return features


def score_sets(
    image_features: dict[str, dict[str, np.ndarray]],
    params: EvaluationParams,
    generator: keras.Model,
) -> pd.DataFrame:
    """One row per set in ``SETS``, each judged against the test set: classifier FID, MNIST
    score, the predicted-class shares (and the rarest one's), precision/recall, density and
    coverage. ``classifier_test_accuracy`` says how far to trust the judge; ``generator``, the
    judged generator's weight hash, which generator the table is of (the release checks it)."""
    test = image_features["test"]
    accuracy = float(np.mean(test["probabilities"].argmax(axis=1) == test["labels"]))
    rows = []
    for name in SETS:
        features, probabilities = (image_features[name][k] for k in ("features", "probabilities"))
        card = scorecard(test["features"], test["features"], features, probabilities,
                         k_precision_recall=params.k_precision_recall,
                         k_density_coverage=params.k_density_coverage,
                         score_splits=params.score_splits)  # fmt: skip
        rows.append(
            {"set": name, "images": len(features), **card, "classifier_test_accuracy": accuracy}
        )
    return pd.DataFrame(rows).assign(generator=model_identity(generator))


def metrics_for_mlflow(metrics: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Every number of the table as an MLflow metric named ``<set>.<metric>``."""
    return {
        f"{row['set']}.{column}": {"value": float(row[column]), "step": 0}
        for row in metrics.to_dict("records")
        for column in metrics.columns
        if column not in ("set", "generator")
    }
