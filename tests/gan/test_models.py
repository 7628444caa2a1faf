import keras
import numpy as np
import pytest

from wgan_pipeline.gan.models import build_critic, build_generator


def test_generator_is_the_chapters():
    generator = build_generator(100)
    assert generator.count_params() == 6_738_689
    assert generator.output_shape == (None, 28, 28, 1)
    kinds = [
        (type(layer).__name__, getattr(layer, "activation", None)) for layer in generator.layers
    ]
    assert [k for k, _ in kinds] == [
        "Dense", "Dense", "Reshape", "UpSampling2D", "Conv2D", "UpSampling2D", "Conv2D",
    ]  # fmt: skip
    assert all(a is keras.activations.tanh for k, a in kinds if k in ("Dense", "Conv2D"))
    assert [layer.count_params() for layer in generator.layers if layer.count_params()] == [
        103_424, 6_428_800, 204_864, 1_601,
    ]  # fmt: skip


def test_generator_output_is_in_tanh_range():
    images = build_generator(100)(np.random.default_rng(0).uniform(-1, 1, (4, 100)))
    assert images.shape == (4, 28, 28, 1)
    assert float(keras.ops.max(keras.ops.abs(images))) <= 1.0


def test_critic_is_the_chapters():
    critic = build_critic()
    assert critic.count_params() == 23_873
    assert critic.output_shape == (None, 1)
    assert [layer.count_params() for layer in critic.layers if layer.count_params()] == [
        640, 18_464, 4_624, 145,
    ]  # fmt: skip
    convs = [layer for layer in critic.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.strides for c in convs] == [(2, 2), (2, 2), (2, 2), (1, 1)]
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in critic.layers)
    assert all(layer.negative_slope == pytest.approx(0.2) for layer in critic.layers
               if isinstance(layer, keras.layers.LeakyReLU))  # fmt: skip


def test_builders_explain_bad_arguments():
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        build_generator(0)
