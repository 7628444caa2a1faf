"""Wasserstein GAN with weight clipping (Arjovsky, Chintala and Bottou, 2017, Algorithm 1)."""

from __future__ import annotations

from typing import Literal

import keras
import tensorflow as tf
from keras import ops


class WGAN(keras.Model):
    """Trains ``generator`` against ``critic`` with ``fit``; one ``train_step`` is one generator update.

    Labels in the chapter's terms: real images -1, generated +1, loss mean(y_true * y_pred), so
      critic loss    = mean(D(fake)) - mean(D(real))   (the critic learns to score real higher)
      generator loss = -mean(D(G(z)))                  (the generator is trained with the *real*
                                                        label -1; the chapter's text has +1 there,
                                                        which is not adversarial)
    and mean(D(real)) - mean(D(fake)) = -critic loss estimates the Wasserstein distance.

    Each batch ``fit`` hands to ``train_step`` holds ``n_critic`` real batches, stacked: one per
    critic update, so every critic update sees fresh real images as in the paper.
    """

    def __init__(
        self,
        generator: keras.Model,
        critic: keras.Model,
        *,
        latent_dim: int,
        clip_value: float,
        n_critic: int = 1,
        noise: Literal["uniform", "normal"] = "uniform",
        seed: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if clip_value <= 0:
            raise ValueError(f"clip_value must be > 0, got {clip_value!r}")
        if n_critic < 1:
            raise ValueError(f"n_critic must be >= 1, got {n_critic!r}")
        if noise not in ("uniform", "normal"):
            raise ValueError(f"noise must be 'uniform' or 'normal', got {noise!r}")
        self.generator = generator
        self.critic = critic
        self.latent_dim = latent_dim
        self.clip_value = clip_value
        self.n_critic = n_critic
        self.noise = noise
        self.noise_seed = keras.random.SeedGenerator(seed)
        self.critic_loss_tracker = keras.metrics.Mean(name="critic_loss")
        self.generator_loss_tracker = keras.metrics.Mean(name="generator_loss")
        self.wasserstein_tracker = keras.metrics.Mean(name="wasserstein_estimate")

    def compile(
        self,
        critic_optimizer: keras.optimizers.Optimizer,
        generator_optimizer: keras.optimizers.Optimizer,
        **kwargs,
    ) -> None:
        """One optimizer per network (Keras 3 refuses one instance for two models' variables)."""
        super().compile(**kwargs)
        self.critic_optimizer = critic_optimizer
        self.generator_optimizer = generator_optimizer

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.critic_loss_tracker, self.generator_loss_tracker, self.wasserstein_tracker]

    def call(self, noise, training=False):
        return self.generator(noise, training=training)

    def sample_noise(self, batch_size):
        """z ~ U(-1, 1) as in the chapter, or N(0, 1) as in the paper's code."""
        shape = (batch_size, self.latent_dim)
        if self.noise == "uniform":
            return keras.random.uniform(shape, -1.0, 1.0, seed=self.noise_seed)
        return keras.random.normal(shape, seed=self.noise_seed)

    def clip_critic_weights(self) -> None:
        """w <- clip(w, -c, c) for every critic weight, on the device."""
        for weight in self.critic.trainable_weights:
            weight.assign(ops.clip(weight, -self.clip_value, self.clip_value))

    def train_step(self, data):
        real_images, _, _ = keras.utils.unpack_x_y_sample_weight(data)  # images only, no labels
        batch_size = ops.shape(real_images)[0] // self.n_critic

        # 1. n_critic times: a critic update on a real batch and a generated one, then clip.
        for real in ops.split(real_images, self.n_critic):
            fake = self.generator(self.sample_noise(batch_size), training=True)
            with tf.GradientTape() as tape:
                # One critic call on real and fake together: one set of convolutions, not two.
                scores = self.critic(ops.concatenate([real, fake], axis=0), training=True)
                real_score = ops.mean(scores[:batch_size])
                fake_score = ops.mean(scores[batch_size:])
                critic_loss = fake_score - real_score
            grads = tape.gradient(critic_loss, self.critic.trainable_weights)
            self.critic_optimizer.apply(grads, self.critic.trainable_weights)
            self.clip_critic_weights()

        # 2. One generator update through the critic as it now stands.
        with tf.GradientTape() as tape:
            generated = self.generator(self.sample_noise(batch_size), training=True)
            generator_loss = -ops.mean(self.critic(generated, training=True))
        grads = tape.gradient(generator_loss, self.generator.trainable_weights)
        self.generator_optimizer.apply(grads, self.generator.trainable_weights)

        # Per-batch values are averaged over the epoch by the trackers (the last critic update
        # stands for the batch's critic loss).
        self.critic_loss_tracker.update_state(critic_loss)
        self.generator_loss_tracker.update_state(generator_loss)
        self.wasserstein_tracker.update_state(-critic_loss)
        return {m.name: m.result() for m in self.metrics}
