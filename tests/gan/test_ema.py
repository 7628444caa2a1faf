"""The generator's exponential moving average, kept by its optimizer (Keras' ``use_ema``)."""

import keras
import numpy as np
import pytest

from wgan_pipeline.gan.models import build_critic, build_generator
from wgan_pipeline.gan.wgan import WGAN
from wgan_pipeline.params import TrainingParams
from wgan_pipeline.training_run import checkpoints
from wgan_pipeline.training_run.build import make_optimizer

from ..helpers import base_params, real_batch


def wgan_with_ema(decay: float) -> WGAN:
    keras.utils.set_random_seed(0)
    params = TrainingParams(**base_params("training", ema_decay=decay, learning_rate=1e-3))
    wgan = WGAN(build_generator(100), build_critic(), latent_dim=100, clip_value=0.1, n_critic=1,
                seed=0)  # fmt: skip
    wgan.compile(make_optimizer(params, 100), make_optimizer(params, 100, ema=True))
    return wgan


class GeneratorWeights(keras.callbacks.Callback):
    """The generator's weights after every batch (one generator update each with n_critic 1)."""

    def on_train_begin(self, logs=None):
        self.after = []

    def on_train_batch_end(self, batch, logs=None):
        self.after.append(self.model.generator.get_weights())


def fit(wgan: WGAN, steps: int = 4) -> GeneratorWeights:
    record = GeneratorWeights()
    images = np.concatenate([real_batch(8, seed=s) for s in range(steps)])
    wgan.fit(images, batch_size=8, epochs=1, shuffle=False, verbose=0, callbacks=[record])
    return record


def test_without_ema_there_is_no_average():
    wgan = WGAN(build_generator(100), build_critic(), latent_dim=100, clip_value=0.1)
    params = TrainingParams(**base_params("training"))
    wgan.compile(make_optimizer(params, 100), make_optimizer(params, 100))
    assert wgan.generator_ema_weights() is None


def test_with_decay_zero_the_average_is_the_generator():
    wgan = wgan_with_ema(0.0)
    fit(wgan)
    for average, raw in zip(
        wgan.generator_ema_weights(), wgan.generator.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(average, raw)


@pytest.mark.parametrize("decay", [0.5, 0.9])
def test_with_decay_d_it_is_the_expected_average_after_a_few_steps(decay):
    wgan = wgan_with_ema(decay)
    before = wgan.generator.get_weights()
    record = fit(wgan, steps=4)
    trainable = {id(v) for v in wgan.generator.trainable_variables}
    is_trainable = [id(v) in trainable for v in wgan.generator.weights]
    # The first update starts the average at the weights; later ones blend in (1 - d) of them.
    expected = record.after[0]
    for weights in record.after[1:]:
        expected = [decay * e + (1 - decay) * w for e, w in zip(expected, weights, strict=True)]
    average = wgan.generator_ema_weights()
    last = record.after[-1]
    for a, e, w, b, trains in zip(average, expected, last, before, is_trainable, strict=True):
        if trains:
            np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-7)
            if not np.allclose(w, b):  # a weight that moved: the average lags behind it
                assert not np.allclose(a, w, rtol=0, atol=1e-9)
        else:  # e.g. batch-norm statistics: not averaged, taken as they are
            np.testing.assert_array_equal(a, w)


def test_the_average_is_part_of_the_training_checkpoint(tmp_path):
    wgan = wgan_with_ema(0.9)
    fit(wgan)
    average = wgan.generator_ema_weights()
    saved = checkpoints.save(tmp_path, wgan, checkpoints.Progress(critic_step=4), {"id": 1})
    resumed = wgan_with_ema(0.9)
    fit(resumed, steps=1)  # another state, with the optimizer built
    checkpoints.restore(saved, resumed)
    for restored, expected in zip(resumed.generator_ema_weights(), average, strict=True):
        np.testing.assert_array_equal(restored, expected)
