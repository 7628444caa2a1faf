import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pydantic import ValidationError

from wgan_pipeline.pipelines.data_processing.nodes import (
    DataParams,
    prepare_training_images,
    scale_images,
    unscale_images,
)


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


def test_prepare_training_images_caps_and_scales(tiny_mnist):
    out = prepare_training_images(tiny_mnist, DataParams(max_train_images=10))
    assert out.shape == (10, 28, 28, 1)
    np.testing.assert_array_equal(unscale_images(out), tiny_mnist["x_train"][:10])
    assert prepare_training_images(tiny_mnist, DataParams()).shape == (64, 28, 28, 1)


@pytest.mark.parametrize("bad", [{"max_train_images": 0}, {"max_train_images": "10"}, {"max": 1}])
def test_data_params_refuse_bad_values(bad):
    with pytest.raises(ValidationError):
        DataParams.model_validate(bad)
