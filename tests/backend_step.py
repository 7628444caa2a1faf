"""The WGAN's first steps from fixed weights, noise and batches on the Keras backend that
KERAS_BACKEND names; writes the weights and losses after them to the .npz given.

    KERAS_BACKEND=jax python tests/backend_step.py OUT.npz {clip,gradient_penalty} [STEPS_PER_CALL]

Run by tests/test_jax_backend.py, which compares the files: the JAX step must compute what the
TensorFlow step computes, and scanning it over several batches per call must change nothing.
"""

import sys

import keras
import numpy as np
from keras import ops

from wgan_pipeline.pipelines.training.models import build_critic, build_generator
from wgan_pipeline.pipelines.training.wgan import WGAN

BATCH, LATENT, STEPS = 8, 100, 6


class FixedNoiseWGAN(WGAN):
    """The WGAN with its two random draws replaced by fixed arrays, the same on every backend."""

    def sample_noise(self, batch_size):
        rng = np.random.default_rng(1)
        return ops.convert_to_tensor(rng.uniform(-1, 1, (batch_size, LATENT)).astype("float32"))

    def sample_mix(self, batch_size):
        rng = np.random.default_rng(2)
        return ops.convert_to_tensor(rng.uniform(0, 1, (batch_size, 1, 1, 1)).astype("float32"))


def main(out: str, constraint: str, steps_per_execution: str = "1") -> None:
    wgan = FixedNoiseWGAN(build_generator(LATENT, fused_upsampling=True), build_critic(),
                          latent_dim=LATENT, constraint=constraint, clip_value=0.05,
                          n_critic=2)  # fmt: skip
    rng = np.random.default_rng(0)
    for weight in wgan.weights:
        if "float" in str(weight.dtype):
            weight.assign(rng.normal(0, 0.05, weight.shape).astype("float32"))
    before = [ops.convert_to_numpy(w) for w in wgan.weights]
    # SGD: updates linear in the gradients, so the backends' float rounding stays that small
    wgan.compile(keras.optimizers.SGD(1e-2), keras.optimizers.SGD(1e-2),
                 steps_per_execution=int(steps_per_execution))  # fmt: skip
    images = rng.uniform(-1, 1, (STEPS * BATCH, 28, 28, 1)).astype("float32")
    history = wgan.fit(images, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    np.savez(
        out,
        before=np.concatenate([w.ravel() for w in before]).astype("float64"),
        after=np.concatenate([ops.convert_to_numpy(w).ravel() for w in wgan.weights]).astype(
            "float64"
        ),
        critic_steps=int(wgan.critic_optimizer.iterations.numpy()),
        generator_steps=int(wgan.generator_optimizer.iterations.numpy()),
        **{name: np.array(values) for name, values in history.history.items()},
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
