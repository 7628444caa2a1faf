"""Wasserstein GAN (Arjovsky, Chintala and Bottou, 2017, Algorithm 1), with the critic kept
Lipschitz by weight clipping as in the paper, or by a gradient penalty (Gulrajani et al., 2017)."""

from __future__ import annotations

from typing import Literal

import keras
from keras import ops

from . import backend

# The WGAN paper's code: 100 critic updates per generator update for the first 25 generator
# updates and every 500th, so the critic is near its optimum when the generator learns from it.
PAPER_BOOST_CRITIC_STEPS = 100
PAPER_BOOST_FIRST = 25
PAPER_BOOST_EVERY = 500


class WGAN(keras.Model):
    """Trains ``generator`` against ``critic`` with ``fit``; one ``train_step`` is one critic update
    on one real batch, followed by a generator update once the critic has had its ``n_critic``.

    Labels in the chapter's terms: real images -1, generated +1, loss mean(y_true * y_pred), so
      critic loss    = mean(D(fake)) - mean(D(real))   (the critic learns to score real higher)
      generator loss = -mean(D(G(z)))                  (the generator is trained with the *real*
                                                        label -1; the chapter's text has +1 there,
                                                        which is not adversarial)
    and mean(D(real)) - mean(D(fake)) estimates the Wasserstein distance.

    ``constraint``: "clip" clips every critic weight to [-clip_value, clip_value] after each
    critic update (the paper); "gradient_penalty" adds gp_weight * mean((|grad D(x^)| - 1)^2) at
    random interpolates x^ of real and generated images to the critic loss and clips nothing.
    ``critic_schedule``: "constant" gives every generator update ``n_critic`` critic updates;
    "paper" gives 100 to the first 25 and every 500th, as the paper's code does.
    """

    def __init__(
        self,
        generator: keras.Model,
        critic: keras.Model,
        *,
        latent_dim: int,
        constraint: Literal["clip", "gradient_penalty"] = "clip",
        clip_value: float = 0.01,
        gp_weight: float = 10.0,
        n_critic: int = 1,
        critic_schedule: Literal["constant", "paper"] = "constant",
        noise: Literal["uniform", "normal"] = "uniform",
        seed: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        _check_choice("constraint", constraint, ("clip", "gradient_penalty"))
        _check_choice("critic_schedule", critic_schedule, ("constant", "paper"))
        _check_choice("noise", noise, ("uniform", "normal"))
        if constraint == "clip" and not clip_value > 0:
            raise ValueError(f"clip_value must be > 0, got {clip_value!r}")
        if constraint == "gradient_penalty" and not gp_weight > 0:
            raise ValueError(f"gp_weight must be > 0, got {gp_weight!r}")
        if n_critic < 1:
            raise ValueError(f"n_critic must be >= 1, got {n_critic!r}")
        self.generator = generator
        self.critic = critic
        self.latent_dim = latent_dim
        self.constraint = constraint
        self.clip_value = clip_value
        self.gp_weight = gp_weight
        self.n_critic = n_critic
        self.critic_schedule = critic_schedule
        self.noise = noise
        self.noise_seed = keras.random.SeedGenerator(seed)
        # Critic updates since the last generator update: part of the model's state, so a
        # restored checkpoint resumes mid-way through a generator update's critic updates.
        self.critic_steps_pending = self.add_weight(
            shape=(), initializer="zeros", dtype="int32", trainable=False, name="critic_steps"
        )
        self.critic_loss_tracker = keras.metrics.Mean(name="critic_loss")
        self.generator_loss_tracker = keras.metrics.Mean(name="generator_loss")
        self.wasserstein_tracker = keras.metrics.Mean(name="wasserstein_estimate")
        self.penalty_tracker = keras.metrics.Mean(name="gradient_penalty")
        self.built = True  # both networks are built: save_weights/load_weights work at once

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
        # Keras' own slot: what its JAX trainer threads through the step as optimizer state.
        self.optimizer = _OptimizerPair(critic_optimizer, generator_optimizer)
        # Built now: the generator update runs inside a conditional, where no variable (such
        # as an optimizer's slots) may be created.
        critic_optimizer.build(self.critic.trainable_variables)
        generator_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        trackers = [self.critic_loss_tracker, self.generator_loss_tracker, self.wasserstein_tracker]
        if self.constraint == "gradient_penalty":
            trackers.append(self.penalty_tracker)
        return trackers

    def call(self, noise, training=False):
        return self.generator(noise, training=training)

    def sample_noise(self, batch_size):
        """z ~ U(-1, 1) as in the chapter, or N(0, 1) as in the paper's code."""
        shape = (batch_size, self.latent_dim)
        if self.noise == "uniform":
            return keras.random.uniform(shape, -1.0, 1.0, seed=self.noise_seed)
        return keras.random.normal(shape, seed=self.noise_seed)

    def sample_mix(self, batch_size):
        """One interpolation weight in [0, 1) per image, for the gradient penalty."""
        return keras.random.uniform((batch_size, 1, 1, 1), seed=self.noise_seed)

    def clip_critic_weights(self) -> None:
        """w <- clip(w, -c, c) for every critic weight, on the device."""
        for weight in self.critic.trainable_weights:
            weight.assign(ops.clip(weight, -self.clip_value, self.clip_value))

    def critic_steps_due(self):
        """Critic updates the next generator update waits for."""
        if self.critic_schedule == "constant":
            return ops.convert_to_tensor(self.n_critic, "int32")
        done = ops.cast(self.generator_optimizer.iterations, "int32")
        boost = ops.logical_or(done < PAPER_BOOST_FIRST, done % PAPER_BOOST_EVERY == 0)
        return ops.where(boost, PAPER_BOOST_CRITIC_STEPS, self.n_critic)

    def train_step(self, *args):
        """TensorFlow calls ``train_step(data)``; Keras' JAX trainer calls
        ``train_step(state, data)`` and wants ``(logs, new_state)``: the same step, run on it."""
        if backend.is_jax():
            state, data = args
            return backend.run_stateless(self, state, lambda: self.wgan_step(data))
        return self.wgan_step(*args)

    def make_train_function(self, force=False):
        """On JAX, ``steps_per_execution`` > 1 scans the step over that many batches in one
        compiled call (backend.scanned_train_function); otherwise Keras' own."""
        if (
            backend.is_jax()
            and self.steps_per_execution > 1
            and self.jit_compile
            and not self.run_eagerly
        ):
            if self.train_function is None or force:
                self.train_function = backend.scanned_train_function(
                    self.train_step, self.steps_per_execution
                )
            return
        super().make_train_function(force)

    def wgan_step(self, data):
        """One critic update, then a generator update if it is due (Algorithm 1's loop body),
        on the variables as they stand: TensorFlow's, or the JAX state run_stateless maps."""
        real, _, _ = keras.utils.unpack_x_y_sample_weight(data)  # images only, no labels
        batch_size = ops.shape(real)[0]

        # 1. A critic update on a real batch and a generated one.
        fake = self.generator(self.sample_noise(batch_size), training=True)
        mix = self.sample_mix(batch_size) if self.constraint == "gradient_penalty" else None

        def critic_loss():
            wasserstein, penalty = self.critic_terms(real, fake, mix)
            return -wasserstein + self.gp_weight * penalty, (wasserstein, penalty)

        critic_weights = self.critic.trainable_weights
        loss, (wasserstein, penalty), grads = backend.value_and_grad(critic_loss, critic_weights)
        self.critic_optimizer.apply(grads, critic_weights)
        if self.constraint == "clip":
            self.clip_critic_weights()
        self.critic_steps_pending.assign_add(1)

        # 2. Once the critic has had its updates: one generator update through it as it stands.
        generator_due = self.critic_steps_pending >= self.critic_steps_due()
        backend.cond(generator_due, lambda: self._generator_step(batch_size))

        self.critic_loss_tracker.update_state(loss)
        self.wasserstein_tracker.update_state(wasserstein)
        if self.constraint == "gradient_penalty":
            self.penalty_tracker.update_state(penalty)
        # Epoch means from the trackers; this step's own estimate for per-step curves.
        return {
            **{m.name: m.result() for m in self.metrics},
            "step_wasserstein_estimate": wasserstein,
        }

    def critic_terms(self, real, fake, mix=None):
        """mean D(real) - mean D(fake) and, with the gradient penalty, mean((|grad D(x^)| - 1)^2)
        at the interpolates x^ = real + mix * (fake - real), one mix in [0, 1] per image.

        One critic call scores real, fake (and interpolates) together: one set of convolutions.
        The critic treats images independently, so the gradient of the interpolates' summed
        scores with respect to its input is each interpolate's own gradient.
        """
        batch_size = ops.shape(real)[0]
        if self.constraint == "clip":
            scores = self.critic(ops.concatenate([real, fake], axis=0), training=True)
            wasserstein = ops.mean(scores[:batch_size]) - ops.mean(scores[batch_size:])
            return wasserstein, ops.convert_to_tensor(0.0)
        interpolates = real + mix * (fake - real)
        images = ops.concatenate([real, fake, interpolates], axis=0)

        def interpolate_scores(images):
            scores = self.critic(images, training=True)
            return ops.sum(scores[2 * batch_size :]), scores

        scores, grads = backend.input_gradient(interpolate_scores, images)
        grads = grads[2 * batch_size :]
        norms = ops.sqrt(ops.sum(ops.square(grads), axis=(1, 2, 3)) + 1e-12)
        wasserstein = ops.mean(scores[:batch_size]) - ops.mean(scores[batch_size : 2 * batch_size])
        return wasserstein, ops.mean(ops.square(norms - 1.0))

    def _generator_step(self, batch_size):
        def generator_loss():
            generated = self.generator(self.sample_noise(batch_size), training=True)
            return -ops.mean(self.critic(generated, training=True)), None

        generator_weights = self.generator.trainable_weights
        loss, _, grads = backend.value_and_grad(generator_loss, generator_weights)
        self.generator_optimizer.apply(grads, generator_weights)
        self.generator_loss_tracker.update_state(loss)
        self.critic_steps_pending.assign(0)


class _OptimizerPair:
    """Both networks' optimizers where Keras expects the model's one: its JAX trainer reads
    ``variables`` to pass the optimizer state into the compiled step and writes it back after."""

    built = True

    def __init__(self, critic: keras.optimizers.Optimizer, generator: keras.optimizers.Optimizer):
        self.critic, self.generator = critic, generator

    @property
    def variables(self) -> list[keras.Variable]:
        return [*self.critic.variables, *self.generator.variables]


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
