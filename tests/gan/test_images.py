"""Pixels and noise: scale and unscale invert each other, grids and noise are what they say."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from wgan_pipeline.gan.images import image_grid, latent_noise, scale_images, unscale_images


def test_scale_gives_float32_in_unit_range_with_a_channel_axis():
    pixels = np.tile(np.array([0, 127, 128, 255], np.uint8), (1, 28, 7))
    scaled = scale_images(pixels)
    assert scaled.dtype == np.float32
    assert scaled.shape == (1, 28, 28, 1)
    assert scaled.min() == -1.0 and scaled.max() == 1.0
    np.testing.assert_allclose(scaled[0, 0, :4, 0], (np.array([0, 127, 128, 255]) - 127.5) / 127.5)


@given(arrays(np.uint8, st.tuples(st.integers(1, 4), st.just(28), st.just(28))))
def test_unscale_inverts_scale_exactly(pixels):
    np.testing.assert_array_equal(unscale_images(scale_images(pixels)), pixels)


def test_unscale_clips_generator_output_to_pixels():
    out = unscale_images(np.array([-3.0, -1.0, 0.0, 1.0, 2.0], np.float32).reshape(1, 1, 5, 1))
    np.testing.assert_array_equal(out.ravel(), [0, 0, 128, 255, 255])


def test_image_grid_accepts_scaled_floats_and_partial_rows():
    grid = image_grid(np.ones((3, 4, 4, 1), np.float32), rows=2, pad=1)
    assert grid.shape == (2 * 5 + 1, 2 * 5 + 1)
    assert grid.sum() == 3 * 16 * 255
    with pytest.raises(ValueError, match="non-empty batch"):
        image_grid(np.zeros((0, 4, 4)))


def test_latent_noise_kinds():
    uniform = latent_noise(1000, 8, "uniform", seed=0)
    assert uniform.dtype == np.float32 and uniform.min() >= -1 and uniform.max() <= 1
    assert abs(latent_noise(1000, 8, "normal", seed=0).std() - 1) < 0.05
    np.testing.assert_array_equal(uniform, latent_noise(1000, 8, "uniform", seed=0))
    with pytest.raises(ValueError, match="uniform' or 'normal"):
        latent_noise(1, 1, "cauchy")
