"""UpSampleConv2D is UpSampling2D(2) + Conv2D('same'): same outputs, same gradients, same weights."""

import keras
import numpy as np
import pytest
from keras import ops

if keras.backend.backend() == "jax":
    import jax
else:
    import tensorflow as tf

from wgan_pipeline.gan.layers import UpSampleConv2D, _phase_matrices
from wgan_pipeline.gan.models import build_generator, plain_generator


def random_weights(model: keras.Model, seed: int = 0) -> list[np.ndarray]:
    """Weights with nonzero biases, so a bias mix-up cannot hide."""
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 0.05, w.shape).astype(np.float32) for w in model.get_weights()]


def loss_and_grads(model: keras.Model, x: np.ndarray):
    """Outputs, and the gradients of a loss that weighs every output pixel differently (so
    phase mix-ups change it) with respect to the input and every weight, on either backend."""
    inputs = [ops.convert_to_tensor(x), *[ops.convert_to_tensor(w) for w in model.get_weights()]]

    def loss(x, *weights):
        y, _ = model.stateless_call(list(weights), [], x)
        index = ops.reshape(ops.arange(int(np.prod(y.shape[1:])), dtype=y.dtype), y.shape[1:])
        return ops.sum(y * index), y

    if keras.backend.backend() == "jax":
        argnums = tuple(range(len(inputs)))
        (_, y), grads = jax.value_and_grad(loss, argnums=argnums, has_aux=True)(*inputs)
    else:
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            value, y = loss(*inputs)
        grads = tape.gradient(value, inputs)
    return ops.convert_to_numpy(y), [ops.convert_to_numpy(g) for g in grads]


@pytest.mark.parametrize("kernel_size", [1, 3, 5])
@pytest.mark.parametrize("shape", [(7, 7, 6), (5, 9, 3)])
def test_layer_equals_upsampling_then_conv(kernel_size, shape):
    plain = keras.Sequential([keras.Input(shape), keras.layers.UpSampling2D(2),
                              keras.layers.Conv2D(4, kernel_size, padding="same")])  # fmt: skip
    fused = keras.Sequential([keras.Input(shape), UpSampleConv2D(4, kernel_size)])
    assert [w.shape for w in fused.get_weights()] == [w.shape for w in plain.get_weights()]
    plain.set_weights(random_weights(plain))
    fused.set_weights(plain.get_weights())
    x = np.random.default_rng(1).normal(size=(2, *shape)).astype(np.float32)

    y_plain, g_plain = loss_and_grads(plain, x)
    y_fused, g_fused = loss_and_grads(fused, x)
    assert y_fused.shape == y_plain.shape == (2, 2 * shape[0], 2 * shape[1], 4)
    np.testing.assert_allclose(y_fused, y_plain, rtol=1e-5, atol=1e-5)
    for gf, gp in zip(g_fused, g_plain):  # input, kernel and bias gradients
        np.testing.assert_allclose(gf, gp, rtol=1e-4, atol=1e-3 * np.abs(gp).max())


def test_fused_generator_is_the_plain_generator():
    fused = build_generator(100, fused_upsampling=True)
    plain = build_generator(100)
    assert fused.count_params() == plain.count_params() == 6_738_689
    fused.set_weights(random_weights(fused))
    plain.set_weights(fused.get_weights())
    noise = np.random.default_rng(2).uniform(-1, 1, (4, 100)).astype(np.float32)

    y_plain, g_plain = loss_and_grads(plain, noise)
    y_fused, g_fused = loss_and_grads(fused, noise)
    np.testing.assert_allclose(y_fused, y_plain, atol=1e-5)
    for gf, gp in zip(g_fused, g_plain):  # every weight of the generator, and the noise
        np.testing.assert_allclose(gf, gp, rtol=1e-4, atol=1e-3 * np.abs(gp).max())

    converted = plain_generator(fused)
    assert not any(isinstance(layer, UpSampleConv2D) for layer in converted.layers)
    np.testing.assert_allclose(converted(noise), y_fused, atol=1e-5)


def test_fused_layer_saves_and_loads(tmp_path):
    model = build_generator(8, fused_upsampling=True)
    model.save(tmp_path / "g.keras")
    loaded = keras.saving.load_model(tmp_path / "g.keras", safe_mode=True)
    noise = np.ones((1, 8), np.float32)
    np.testing.assert_array_equal(loaded(noise), model(noise))


def test_phase_taps_sum_to_the_kernel():
    """Every 5x5 tap lands on exactly one of the three input offsets, for both phases."""
    m = _phase_matrices(5)
    np.testing.assert_array_equal(m.sum(axis=1), np.ones((2, 5)))
    assert m.sum() == 2 * 5


def test_layer_refuses_kernels_it_cannot_fuse():
    with pytest.raises(ValueError, match="odd and at most 5"):
        UpSampleConv2D(4, kernel_size=7)
