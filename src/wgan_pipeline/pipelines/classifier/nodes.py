"""Train the classifier that judges generated images of its data set (no Inception weights
offline)."""

from __future__ import annotations

import logging

import keras
import numpy as np

from wgan_pipeline.gan.images import scale_images
from wgan_pipeline.gan.models import build_classifier
from wgan_pipeline.params import ClassifierParams, DataParams, model_name

logger = logging.getLogger(__name__)


def train_classifier(
    raw: dict[str, np.ndarray], params: ClassifierParams, data: DataParams
) -> keras.Model:
    """Train on the data set's training split and log its accuracy on the test split (the
    evaluation pipeline reports that accuracy again with every run's metrics). Named after the
    data set (``fashion_mnist_classifier``), so it never judges another data set's images."""
    keras.utils.set_random_seed(params.seed)
    x_train, y_train = raw["x_train"], raw["y_train"]
    if params.max_train_images is not None:
        x_train, y_train = x_train[: params.max_train_images], y_train[: params.max_train_images]
    classifier = build_classifier(params.feature_dim, name=model_name("classifier", data.dataset))
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
        verbose=2,
    )
    loss, accuracy = classifier.evaluate(
        scale_images(raw["x_test"]), raw["y_test"].astype("int64"), batch_size=1000, verbose=0
    )
    logger.info("%s classifier: test accuracy %.4f, loss %.4f.", data.dataset, accuracy, loss)
    return classifier
