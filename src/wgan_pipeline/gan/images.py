"""Pixels and noise: MNIST's uint8 images to the generator's [-1, 1] and back, latent noise,
and image grids. NumPy only."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np


def scale_images(images: np.ndarray) -> np.ndarray:
    """uint8 pixels (N, 28, 28) -> float32 (N, 28, 28, 1) in [-1, 1], as (x - 127.5) / 127.5."""
    return ((np.asarray(images).astype(np.float32) - 127.5) / 127.5)[..., np.newaxis]


def unscale_images(images: np.ndarray) -> np.ndarray:
    """The inverse of :func:`scale_images`: float [-1, 1] (N, 28, 28, 1) -> uint8 (N, 28, 28).

    Values outside [-1, 1] are clipped, so it also turns generator output into pixels.
    """
    pixels = np.clip(np.rint(np.asarray(images) * 127.5 + 127.5), 0, 255)
    return pixels.astype(np.uint8).reshape(pixels.shape[:3])


def latent_noise(
    n: int, latent_dim: int, kind: Literal["uniform", "normal"] = "uniform", seed: int = 0
) -> np.ndarray:
    """``n`` float32 noise vectors, reproducible from ``seed``: U(-1, 1) or N(0, 1)."""
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        noise = rng.uniform(-1.0, 1.0, (n, latent_dim))
    elif kind == "normal":
        noise = rng.standard_normal((n, latent_dim))
    else:
        raise ValueError(f"noise kind must be 'uniform' or 'normal', got {kind!r}")
    return noise.astype(np.float32)


def image_grid(images: np.ndarray, rows: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile N grey images (N, H, W[, 1]), uint8 or float in [-1, 1], into one uint8 (H', W') image.

    ``rows`` defaults to a square-ish layout; cells are separated by ``pad`` black pixels.
    """
    images = np.asarray(images)
    if images.ndim == 4:
        images = images[..., 0]
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"expected a non-empty batch of (N, H, W[, 1]) images, got {images.shape}")
    if images.dtype != np.uint8:
        images = unscale_images(images)
    n, h, w = images.shape
    rows = rows or max(1, math.isqrt(n))
    cols = math.ceil(n / rows)
    grid = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad), np.uint8)
    for i, image in enumerate(images[: rows * cols]):
        r, c = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        grid[top : top + h, left : left + w] = image
    return grid
