"""Draw digits from the trained generator, reproducibly, and lay them out for people."""

from __future__ import annotations

from typing import Literal

import keras
import numpy as np
from PIL import Image
from pydantic import Field

from wgan_pipeline.params import Params
from wgan_pipeline.pipelines.data_processing.nodes import unscale_images
from wgan_pipeline.samples import image_grid, latent_noise


class EvaluationParams(Params):
    """``params:evaluation``; checked by Kedro before any node runs."""

    seed: int = Field(1234, ge=0, description="Seed of the fixed noise the samples come from.")
    n_samples: int = Field(10000, ge=1, description="How many digits to generate.")
    grid_rows: int = Field(10, ge=1, le=100, description="Rows (= columns) of the sample grid.")
    grid_scale: int = Field(2, ge=1, le=8, description="Pixel magnification of the grid image.")
    batch_size: int = Field(500, ge=1, description="Images per generator call.")


def generate_samples(
    generator: keras.Model,
    params: EvaluationParams,
    noise_kind: Literal["uniform", "normal"],
) -> np.ndarray:
    """``n_samples`` digits as uint8 (N, 28, 28), from noise fixed by ``params.seed``."""
    latent_dim = generator.input_shape[-1]
    noise = latent_noise(params.n_samples, latent_dim, noise_kind, params.seed)
    images = generator.predict(noise, batch_size=params.batch_size, verbose=0)
    return unscale_images(images)


def make_sample_grid(samples: np.ndarray, params: EvaluationParams) -> Image.Image:
    """The first grid_rows**2 samples as one greyscale image, magnified by grid_scale."""
    grid = image_grid(samples[: params.grid_rows**2], rows=params.grid_rows)
    image = Image.fromarray(grid)  # 2-D uint8: greyscale ("L")
    return image.resize(
        (image.width * params.grid_scale, image.height * params.grid_scale), Image.NEAREST
    )


def export_generator(generator: keras.Model) -> keras.Model:
    """The trained generator, handed on unchanged: the catalog entry it goes to logs it to
    MLflow as a model (keras flavor) that can be served or loaded with ``mlflow.keras``."""
    return generator
