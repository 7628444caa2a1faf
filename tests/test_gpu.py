"""Training on the GPU, where the Keras backend sees one: one WGAN step runs there (the
networks' weights live on the GPU), changes the weights and keeps the critic clipped.

Skipped, with the reason, where the backend sees no GPU (CI, a laptop); the reason carries the
install line where the driver sees a GPU the backend does not. It imports Keras, NumPy and the
GAN library only, so it also runs on a GPU machine without TensorFlow or Kedro:

    KERAS_BACKEND=jax pytest tests/test_gpu.py --noconftest -p no:cacheprovider -o addopts=""
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from wgan_pipeline.gan.models import build_critic, build_generator
from wgan_pipeline.gan.wgan import WGAN
from wgan_pipeline.training_run.devices import GPU_INSTALL, nvidia_gpus

CLIP = 0.01


def backend_gpus() -> list[str]:
    if keras.backend.backend() == "jax":
        import jax  # noqa: PLC0415 (only on that backend)

        return [str(d) for d in jax.devices() if d.platform == "gpu"]
    import tensorflow as tf  # noqa: PLC0415

    return [d.name for d in tf.config.list_logical_devices("GPU")]


def device_of(variable: keras.Variable) -> str:
    """Where the variable's value is stored, as the backend names it."""
    if keras.backend.backend() == "jax":
        return ",".join(sorted(f"{d.platform}:{d.id}" for d in variable.value.devices()))
    return variable.value.device


@pytest.fixture(scope="module")
def gpu() -> str:
    found = backend_gpus()
    if not found:
        seen = nvidia_gpus()
        pytest.skip(
            f"the Keras {keras.backend.backend()} backend sees no GPU"
            + (f" although nvidia-smi sees {seen}: install `{GPU_INSTALL}`" if seen else "")
        )
    return found[0]


def test_a_training_step_runs_on_the_gpu(gpu):
    keras.utils.set_random_seed(0)
    wgan = WGAN(build_generator(100), build_critic(), latent_dim=100, clip_value=CLIP, seed=0)
    wgan.compile(keras.optimizers.RMSprop(5e-5), keras.optimizers.RMSprop(5e-5))
    images = np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 1)).astype("float32")
    before = [w.copy() for w in wgan.critic.get_weights() + wgan.generator.get_weights()]

    wgan.fit(images, batch_size=64, epochs=1, verbose=0)

    variables = wgan.critic.weights + wgan.generator.weights
    assert all("gpu" in device_of(v).lower() for v in variables), {
        v.path: device_of(v) for v in variables
    }
    after = wgan.critic.get_weights() + wgan.generator.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    assert max(np.abs(w).max() for w in wgan.critic.get_weights()) <= CLIP
