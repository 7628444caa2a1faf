"""Turn raw MNIST into the generator's value range."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from wgan_pipeline.params import Params


class DataParams(Params):
    """``params:data``; checked by Kedro before any node runs."""

    max_train_images: int | None = Field(
        default=None, ge=1, description="Use only the first N training images (null: all)."
    )


def scale_images(images: np.ndarray) -> np.ndarray:
    """uint8 pixels (N, 28, 28) -> float32 (N, 28, 28, 1) in [-1, 1], as (x - 127.5) / 127.5."""
    return ((images.astype(np.float32) - 127.5) / 127.5)[..., np.newaxis]


def unscale_images(images: np.ndarray) -> np.ndarray:
    """The inverse of :func:`scale_images`: float [-1, 1] (N, 28, 28, 1) -> uint8 (N, 28, 28).

    Values outside [-1, 1] are clipped, so it also turns generator output into pixels.
    """
    pixels = np.clip(np.rint(np.asarray(images) * 127.5 + 127.5), 0, 255)
    return pixels.astype(np.uint8).reshape(pixels.shape[:3])


def prepare_training_images(mnist: dict[str, np.ndarray], params: DataParams) -> np.ndarray:
    """The training split, optionally capped to its first ``max_train_images``, scaled to [-1, 1]."""
    images = mnist["x_train"]
    if params.max_train_images is not None:
        images = images[: params.max_train_images]
    return scale_images(images)
