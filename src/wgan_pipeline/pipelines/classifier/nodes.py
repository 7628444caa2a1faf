"""The data set's judge: a classifier (no Inception weights offline) trained once and kept."""

from __future__ import annotations

import logging

import keras
import numpy as np

from wgan_pipeline.errors import Refused
from wgan_pipeline.fit_console import FitProgress
from wgan_pipeline.gan.images import scale_images
from wgan_pipeline.gan.judge import classifier_identity
from wgan_pipeline.gan.models import build_classifier
from wgan_pipeline.params import ClassifierParams, DataParams, check_data_set, model_name

logger = logging.getLogger(__name__)


def train_classifier(
    raw: dict[str, np.ndarray],
    params: ClassifierParams,
    data: DataParams,
    saved: keras.Model | None,
) -> tuple[keras.Model, dict]:
    """The judge and its card. A saved judge is reused as it is (its settings were checked
    against ``params`` before the run); otherwise one is trained on the data set's training
    split. Named after the data set (``fashion_mnist_classifier``), so it never judges another
    data set's images. The card holds its hash, its accuracy on the test split and the settings
    it was trained with."""
    if saved is not None:
        check_data_set(saved, "classifier", data.dataset)
        logger.info(
            "%s judge: reusing the saved one (%s).", data.dataset, classifier_identity(saved)
        )
        classifier = saved
    else:
        logger.info(
            "Training the %s judge, a classifier that scores every run's digits (first run "
            "only: later runs reuse it).",
            data.dataset,
        )
        classifier = _train(raw, params, data.dataset)
    predicted = classifier.predict(scale_images(raw["x_test"]), batch_size=1000, verbose=0)
    accuracy = float(np.mean(predicted.argmax(axis=1) == raw["y_test"]))
    logger.info("The %s judge's test accuracy: %.4f.", data.dataset, accuracy)
    check_accuracy(accuracy, params.min_test_accuracy.get(data.dataset), data.dataset, saved)
    card = {
        "dataset": data.dataset,
        "hash": classifier_identity(classifier),
        "test_accuracy": round(float(accuracy), 4),
        "settings": params.model_dump(exclude=CARD_EXCLUDES),
    }
    return classifier, card


CARD_EXCLUDES = {"min_test_accuracy"}  # a check on the judge, not how it was trained


class JudgeRejectedError(Refused, RuntimeError):
    """A judge whose test accuracy says the data it learned from is not what it should be."""


def check_accuracy(accuracy: float, floor: float | None, dataset: str, saved) -> None:
    """Refuse a judge below its data set's floor: a new one is not saved (every later run
    would be scored by it), a saved one not used."""
    if floor is None or accuracy >= floor:
        return
    which = "The saved" if saved is not None else "A newly trained"
    raise JudgeRejectedError(
        f"{which} {dataset} judge reaches test accuracy {accuracy:.3f} on the raw {dataset} "
        f"files in data/01_raw/, below the {floor} a judge of {dataset} reaches "
        "(classifier.min_test_accuracy): the files' labels do not match their images (a file "
        "that is not the data set, or labels shuffled). Nothing was saved. Replace the files in "
        "data/01_raw/ with the real data set (delete them to have it downloaded again)"
        + (", and delete the saved judge (.keras and .json)" if saved is not None else "")
        + "."
    )


def _train(raw: dict[str, np.ndarray], params: ClassifierParams, dataset: str) -> keras.Model:
    keras.utils.set_random_seed(params.seed)
    x_train, y_train = raw["x_train"], raw["y_train"]
    if params.max_train_images is not None:
        x_train, y_train = x_train[: params.max_train_images], y_train[: params.max_train_images]
    classifier = build_classifier(params.feature_dim, name=model_name("classifier", dataset))
    classifier.compile(
        optimizer=keras.optimizers.Adam(params.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    classifier.fit(
        scale_images(x_train),
        y_train.astype("int64"),
        batch_size=params.batch_size,
        epochs=params.epochs,
        verbose=0,
        callbacks=[FitProgress("judge epoch", params.epochs, _accuracy)],
    )
    return classifier


def _accuracy(epoch: int, logs: dict) -> str:
    return f"accuracy {float(logs['accuracy']):.3f}" if "accuracy" in logs else ""
