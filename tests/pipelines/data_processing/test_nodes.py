import numpy as np
import pytest
from pydantic import ValidationError

from wgan_pipeline.gan.images import unscale_images
from wgan_pipeline.params import DataParams
from wgan_pipeline.pipelines.data_processing.nodes import prepare_training_images


def test_prepare_training_images_caps_and_scales(tiny_mnist):
    out = prepare_training_images(tiny_mnist, DataParams(dataset="mnist", max_train_images=10))
    assert out.shape == (10, 28, 28, 1)
    np.testing.assert_array_equal(unscale_images(out), tiny_mnist["x_train"][:10])
    assert prepare_training_images(
        tiny_mnist, DataParams(dataset="mnist", max_train_images=None)
    ).shape == (
        64,
        28,
        28,
        1,
    )


@pytest.mark.parametrize("bad", [{"max_train_images": 0}, {"max_train_images": "10"}, {"max": 1}])
def test_data_params_refuse_bad_values(bad):
    with pytest.raises(ValidationError):
        DataParams.model_validate(bad)
