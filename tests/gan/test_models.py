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


def test_batch_normalization_sits_where_wgan_gps_clipped_baseline_has_it():
    """The critic normalizes after its second and third convolutions, the generator after its
    dense layer and first two transposed convolutions, each before the activation; each adds
    gamma and beta (trainable) and a moving mean and variance (not) per channel or unit."""
    generator = build_generator(100, architecture="dcgan", normalization="batch")
    critic = build_critic(architecture="dcgan", normalization="batch")
    assert [type(layer).__name__ for layer in generator.layers] == [
        "Dense", "BatchNormalization", "ReLU", "Reshape",
        "Conv2DTranspose", "BatchNormalization", "ReLU", "Cropping2D",
        "Conv2DTranspose", "BatchNormalization", "ReLU", "Conv2DTranspose",
    ]  # fmt: skip
    assert [type(layer).__name__ for layer in critic.layers] == [
        "Conv2D", "LeakyReLU", "Conv2D", "BatchNormalization", "LeakyReLU",
        "Conv2D", "BatchNormalization", "LeakyReLU", "Flatten", "Dense",
    ]  # fmt: skip
    # the layers before a normalization leave their ReLU to the layer after it
    before_norm = [generator.get_layer(name) for name in ("dense", "deconv_1", "deconv_2")]
    assert all(layer.activation is keras.activations.linear for layer in before_norm)
    assert generator.count_params() == 1_439_489 + 4 * (4096 + 128 + 64)
    assert critic.count_params() == 1_030_145 + 4 * (128 + 256)
    assert len(critic.non_trainable_weights) == 4  # two moving means, two moving variances
    assert generator.output_shape[1:] == critic.input_shape[1:] == (28, 28, 1)


def test_the_chapters_networks_refuse_batch_normalization():
    with pytest.raises(ValueError, match="normalization 'batch' is for the dcgan networks"):
        build_generator(100, normalization="batch")
    with pytest.raises(ValueError, match="normalization 'batch' is for the dcgan networks"):
        build_critic(normalization="batch")
    with pytest.raises(ValueError, match="normalization must be one of .*'layer'"):
        build_critic(architecture="dcgan", normalization="layer")


def normalized_pair_after_training_calls():
    """A batch-normalized dcgan generator and critic of width 8 whose moving statistics have
    moved off their start (0 and 1) through a few training calls."""
    generator = build_generator(16, architecture="dcgan", width=8, normalization="batch", name="g")
    critic = build_critic(architecture="dcgan", width=8, normalization="batch", name="c")
    noise = np.random.default_rng(0).normal(size=(6, 16)).astype("float32")
    for _ in range(3):
        critic(generator(noise, training=True), training=True)
    return generator, critic, noise


def test_plain_generator_keeps_batch_normalization_and_its_moving_statistics():
    trained, _, noise = normalized_pair_after_training_calls()
    moving = [w for w in trained.non_trainable_weights if "moving" in w.path]
    assert len(moving) == 6 and not np.allclose(keras.ops.convert_to_numpy(moving[0]), 0)
    plain = plain_generator(trained)
    assert [type(layer) for layer in plain.layers] == [type(layer) for layer in trained.layers]
    for copied, original in zip(plain.get_weights(), trained.get_weights(), strict=True):
        np.testing.assert_array_equal(copied, original)
    # inference uses the moving statistics: the copy draws the same images
    np.testing.assert_allclose(plain(noise), trained(noise), atol=1e-6)
    # and the weights go back the other way too
    trained.set_weights(plain.get_weights())


def test_batch_normalized_networks_save_and_load_with_safe_mode(tmp_path):
    """Plain Keras layers only: the .keras files load with safe_mode and no custom objects, with
    their moving statistics, and score and draw as before."""
    generator, critic, noise = normalized_pair_after_training_calls()
    images = generator(noise)
    for model, inputs in ((generator, noise), (critic, images)):
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
        assert sum(isinstance(layer, keras.layers.BatchNormalization) for layer in loaded.layers)
        for copied, original in zip(loaded.get_weights(), model.get_weights(), strict=True):
            np.testing.assert_array_equal(copied, original)
        np.testing.assert_allclose(loaded(inputs), model(inputs), atol=1e-6)


def test_batch_normalized_dcgan_pair_trains_from_the_training_parameters():
    """``training.normalization: batch`` reaches both networks through build_wgan, and one
    clipped step clips gamma and beta as it clips kernels and biases."""
    from wgan_pipeline.training_run.build import build_wgan  # noqa: PLC0415 (workflow side)

    from ..helpers import real_batch, tiny_training  # noqa: PLC0415

    params = tiny_training(architecture="dcgan", width=8, normalization="batch", clip_value=0.01)
    wgan = build_wgan(params, steps_per_epoch=1)
    for network in (wgan.generator, wgan.critic):
        assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in network.layers)
    logs = wgan.train_on_batch(real_batch(8), return_dict=True)
    assert all(np.isfinite(float(v)) for v in logs.values())
    gammas = [w for w in wgan.critic.trainable_weights if w.path.endswith("gamma")]
    assert len(gammas) == 2  # started at 1, so clipping had work to do
    assert max(float(np.abs(w).max()) for w in wgan.critic.trainable_weights) <= np.float32(0.01)
