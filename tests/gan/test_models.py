import keras
import numpy as np
import pytest

from wgan_pipeline.gan.models import build_critic, build_generator, plain_generator


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


def test_dcgan_generator_is_wgan_gps_mnist_generator():
    generator = build_generator(100, architecture="dcgan")
    assert generator.count_params() == 1_439_489
    assert [layer.count_params() for layer in generator.layers if layer.count_params()] == [
        413_696, 819_328, 204_864, 1_601,
    ]  # fmt: skip
    shapes = [layer.output.shape[1:] for layer in generator.layers]
    assert shapes == [
        (4096,), (4, 4, 256), (8, 8, 128), (7, 7, 128), (14, 14, 64), (28, 28, 1),
    ]  # fmt: skip
    deconvs = [
        layer for layer in generator.layers if isinstance(layer, keras.layers.Conv2DTranspose)
    ]
    assert [d.kernel_size for d in deconvs] == [(5, 5)] * 3
    assert [d.activation for d in deconvs][-1] is keras.activations.tanh
    images = generator(np.random.default_rng(0).normal(size=(3, 100)))
    assert float(keras.ops.max(keras.ops.abs(images))) <= 1.0


def test_dcgan_critic_is_wgan_gps_mnist_critic():
    critic = build_critic(architecture="dcgan")
    assert critic.count_params() == 1_030_145
    assert critic.output_shape == (None, 1)
    convs = [layer for layer in critic.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.filters, c.kernel_size, c.strides) for c in convs] == [
        (64, (5, 5), (2, 2)), (128, (5, 5), (2, 2)), (256, (5, 5), (2, 2)),
    ]  # fmt: skip
    assert [layer.output.shape[1:] for layer in critic.layers if "conv" in layer.name] == [
        (14, 14, 64), (7, 7, 128), (4, 4, 256),
    ]  # fmt: skip
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in critic.layers)


def test_width_scales_the_dcgan_channels_both_ways():
    generator = build_generator(16, architecture="dcgan", width=16)
    critic = build_critic(architecture="dcgan", width=16)
    assert [layer.filters for layer in generator.layers if "deconv" in layer.name] == [32, 16, 1]
    assert [layer.filters for layer in critic.layers if "conv" in layer.name] == [16, 32, 64]
    assert generator.output_shape[1:] == critic.input_shape[1:] == (28, 28, 1)


@pytest.mark.parametrize(("architecture", "width"), [("chapter", 64), ("dcgan", 64), ("dcgan", 24)])
def test_plain_generator_keeps_the_architecture_and_the_function(architecture, width):
    trained = build_generator(16, architecture=architecture, fused_upsampling=True, width=width,
                              name="g")  # fmt: skip
    plain = plain_generator(trained)
    assert plain.name == "g" and plain.count_params() == trained.count_params()
    assert not any("UpSampleConv2D" == type(layer).__name__ for layer in plain.layers)
    noise = np.random.default_rng(1).normal(size=(4, 16)).astype("float32")
    np.testing.assert_allclose(plain(noise), trained(noise), atol=2e-5)


def test_an_unknown_architecture_is_named():
    with pytest.raises(
        ValueError, match="architecture must be one of .*'chapter', 'dcgan'.*'dcgn'"
    ):
        build_generator(100, architecture="dcgn")
    with pytest.raises(ValueError, match="architecture must be one of"):
        build_critic(architecture="dcgn")


@pytest.mark.parametrize("constraint", ["clip", "gradient_penalty"])
def test_the_dcgan_pair_trains_with_either_constraint(constraint):
    from wgan_pipeline.training_run.build import build_wgan  # noqa: PLC0415 (workflow side)

    from ..helpers import real_batch, tiny_training  # noqa: PLC0415

    params = tiny_training(architecture="dcgan", constraint=constraint, clip_value=0.01)
    wgan = build_wgan(params, steps_per_epoch=1)
    before = [np.array(w) for w in wgan.generator.get_weights()]
    logs = wgan.train_on_batch(real_batch(8), return_dict=True)
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert ("gradient_penalty" in logs) == (constraint == "gradient_penalty")
    after = wgan.generator.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    if constraint == "clip":
        assert max(float(np.abs(w).max()) for w in wgan.critic.get_weights()) <= np.float32(0.01)
