"""Turn the raw data set into the generator's value range."""

from __future__ import annotations

import numpy as np

from wgan_pipeline.gan.images import scale_images
from wgan_pipeline.params import DataParams


def prepare_training_images(raw: dict[str, np.ndarray], params: DataParams) -> np.ndarray:
    """The training split, optionally capped to its first ``max_train_images``, scaled to [-1, 1]."""
    images = raw["x_train"]
    if params.max_train_images is not None:
        images = images[: params.max_train_images]
    return scale_images(images)
