"""Train the MNIST classifier that judges generated digits (no Inception weights offline)."""

from __future__ import annotations

import logging

import keras
import numpy as np
from keras import layers
from pydantic import Field

from wgan_pipeline.params import Params
from wgan_pipeline.pipelines.data_processing.nodes import scale_images

logger = logging.getLogger(__name__)

FEATURES = "features"  # the penultimate layer: the space FID, precision/recall, ... work in


class ClassifierParams(Params):
    """``params:classifier``; checked by Kedro before any node runs."""

    seed: int = Field(0, ge=0, description="Seeds the weights and the data order.")
    epochs: int = Field(3, ge=1, description="Passes over the 60,000 training images.")
    batch_size: int = Field(128, ge=1, description="Images per update.")
    learning_rate: float = Field(1e-3, gt=0, le=1, description="Adam's step size.")
    feature_dim: int = Field(128, ge=2, description="Width of the penultimate (feature) layer.")
    max_train_images: int | None = Field(
        None, ge=1, description="Train on only the first N training images (null: all)."
    )


def build_classifier(feature_dim: int = 128) -> keras.Model:
    """[-1, 1] image (28, 28, 1) -> probabilities of the ten digits.

    Conv(32, 3) -> max-pool -> Conv(64, 3) -> max-pool -> Dense(feature_dim) ReLU ("features")
    -> dropout -> Dense(10) softmax: the keras-io MNIST convnet with a small feature layer.
    """
    return keras.Sequential(
        [
            keras.Input((28, 28, 1), name="image"),
            layers.Conv2D(32, 3, activation="relu", name="conv_1"),
            layers.MaxPooling2D(2, name="pool_1"),
            layers.Conv2D(64, 3, activation="relu", name="conv_2"),
            layers.MaxPooling2D(2, name="pool_2"),
            layers.Flatten(name="flatten"),
            layers.Dropout(0.25, name="dropout_1"),
            layers.Dense(feature_dim, activation="relu", name=FEATURES),
            layers.Dropout(0.5, name="dropout_2"),
            layers.Dense(10, activation="softmax", name="probabilities"),
        ],
        name="mnist_classifier",
    )


def train_mnist_classifier(mnist: dict[str, np.ndarray], params: ClassifierParams) -> keras.Model:
    """Train on MNIST's training split and log its accuracy on the test split (the evaluation
    pipeline reports that accuracy again with every run's metrics)."""
    keras.utils.set_random_seed(params.seed)
    x_train, y_train = mnist["x_train"], mnist["y_train"]
    if params.max_train_images is not None:
        x_train, y_train = x_train[: params.max_train_images], y_train[: params.max_train_images]
    classifier = build_classifier(params.feature_dim)
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
        scale_images(mnist["x_test"]), mnist["y_test"].astype("int64"), batch_size=1000, verbose=0
    )
    logger.info("MNIST classifier: test accuracy %.4f, loss %.4f.", accuracy, loss)
    return classifier
