"""Wasserstein GAN (Arjovsky, Chintala and Bottou, 2017, Algorithm 1), with the critic kept
Lipschitz by weight clipping as in the paper, or by a gradient penalty (Gulrajani et al., 2017)."""

from __future__ import annotations

from typing import Literal

import keras
from keras import ops

from . import jax_adapter
from .models import has_batch_normalization

BACKEND = keras.backend.backend()
if BACKEND == "tensorflow":
    import tensorflow as tf  # the step's GradientTape and cond; JAX's are in jax_adapter

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

    On TensorFlow ``train_step`` runs the step below statefully, inside ``tf.function``. On JAX
    Keras calls ``train_step(state, data)``; jax_adapter.train_step computes the same update
    from that state with the networks' ``stateless_call`` and the optimizers'
    ``stateless_apply`` (a test checks both backends agree to 1e-6).

    ``constraint``: "clip" clips every critic weight to [-clip_value, clip_value] after each
    critic update (the paper); "gradient_penalty" adds gp_weight * mean((|grad D(x^)| - 1)^2) at
    random interpolates x^ of real and generated images to the critic loss and clips nothing.
    A critic with batch normalization scores the real and the generated batch in separate
    calls, and takes clipping only (the penalty is per image; its scores are per batch).
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
        # In training, a batch-normalized critic's scores depend on the whole batch they are in.
        self.critic_normalizes_batches = has_batch_normalization(critic)
        if constraint == "gradient_penalty" and self.critic_normalizes_batches:
            raise ValueError(
                "constraint 'gradient_penalty' needs a critic without batch normalization, and "
                f"'{critic.name}' has some: the penalty is on each image's own gradient, and "
                "batch normalization makes each score depend on the whole batch (WGAN-GP removed "
                "it for that reason). Use constraint 'clip', or a critic without it."
            )
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
        # Keras' single optimizer slot holds both: its JAX trainer threads this slot's
        # variables through the step as the optimizer state (jax_adapter explains).
        self.optimizer = jax_adapter.OptimizerPair(critic_optimizer, generator_optimizer)
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

    def sample_noise(self, batch_size, seed=None):
        """z ~ U(-1, 1) as in the chapter, or N(0, 1) as in the paper's code; from the model's
        seed generator, or from ``seed`` (a seed tensor: the stateless JAX step's)."""
        shape, seed = (batch_size, self.latent_dim), self.noise_seed if seed is None else seed
        if self.noise == "uniform":
            return keras.random.uniform(shape, -1.0, 1.0, seed=seed)
        return keras.random.normal(shape, seed=seed)

    def interpolation_weights(self, batch_size, seed=None):
        """The gradient penalty's epsilon ~ U[0, 1), one per image (x^ = x + eps (G(z) - x))."""
        seed = self.noise_seed if seed is None else seed
        return keras.random.uniform((batch_size, 1, 1, 1), seed=seed)

    def clip_critic_weights(self) -> None:
        """w <- clip(w, -c, c) for every trainable critic weight, on the device: kernels, biases
        and batch normalization's gamma and beta. Its moving mean and variance are statistics
        of the batches seen, not parameters of the critic's function in training: left alone."""
        for weight in self.critic.trainable_weights:
            weight.assign(ops.clip(weight, -self.clip_value, self.clip_value))

    def generator_ema_weights(self) -> list | None:
        """The generator's weights (``get_weights()`` order) with each trainable one replaced by
        its exponential moving average, which the generator's optimizer keeps when it was made
        with ``use_ema`` (updated with every generator update); None without one."""
        optimizer = self.generator_optimizer
        if not optimizer.use_ema:
            return None
        averages = dict(
            zip(
                (id(v) for v in self.generator.trainable_variables),
                optimizer._model_variables_moving_average,  # Keras keeps no public name for it
                strict=True,
            )
        )
        return [ops.convert_to_numpy(averages.get(id(v), v)) for v in self.generator.weights]

    def critic_steps_due(self, generator_updates):
        """Critic updates the next generator update waits for, after ``generator_updates``."""
        if self.critic_schedule == "constant":
            return ops.convert_to_tensor(self.n_critic, "int32")
        done = ops.cast(generator_updates, "int32")
        boost = ops.logical_or(done < PAPER_BOOST_FIRST, done % PAPER_BOOST_EVERY == 0)
        return ops.where(boost, PAPER_BOOST_CRITIC_STEPS, self.n_critic)

    def train_step(self, *args):
        """TensorFlow calls ``train_step(data)``; Keras' JAX trainer ``train_step(state, data)``
        and wants ``(logs, new_state)``."""
        if BACKEND == "jax":
            return jax_adapter.train_step(self, *args)
        if BACKEND != "tensorflow":
            raise NotImplementedError(
                f"The WGAN's step runs on Keras' tensorflow and jax backends, not {BACKEND!r}: "
                "set KERAS_BACKEND=tensorflow (the default) or KERAS_BACKEND=jax."
            )
        return self.wgan_step(*args)

    def make_train_function(self, force=False):
        """On JAX, ``steps_per_execution`` > 1 scans the step over that many batches in one
        compiled call (jax_adapter); otherwise Keras' own."""
        if not jax_adapter.install_scanned_train_function(self, force):
            super().make_train_function(force)

    def wgan_step(self, data):
        """One critic update, then a generator update if it is due (Algorithm 1's loop body)."""
        real, _, _ = keras.utils.unpack_x_y_sample_weight(data)  # images only, no labels
        batch_size = ops.shape(real)[0]

        # 1. A critic update on a real batch and a generated one.
        fake = self.generator(self.sample_noise(batch_size), training=True)
        eps = self.interpolation_weights(batch_size) if self.uses_penalty else None
        critic_weights = self.critic.trainable_weights
        with tf.GradientTape() as tape:
            wasserstein, penalty = self.critic_terms(
                lambda images: self.critic(images, training=True),
                input_gradient,
                real,
                fake,
                eps,
            )
            loss = -wasserstein + self.gp_weight * penalty
        self.critic_optimizer.apply(tape.gradient(loss, critic_weights), critic_weights)
        if self.constraint == "clip":
            self.clip_critic_weights()
        self.critic_steps_pending.assign_add(1)

        # 2. Once the critic has had its updates: one generator update through it as it stands.
        due = self.critic_steps_pending >= self.critic_steps_due(
            self.generator_optimizer.iterations
        )
        tf.cond(due, lambda: self._generator_step(batch_size), tf.no_op)

        self.critic_loss_tracker.update_state(loss)
        self.wasserstein_tracker.update_state(wasserstein)
        if self.uses_penalty:
            self.penalty_tracker.update_state(penalty)
        # Epoch means from the trackers; this step's own estimate for per-step curves.
        return {
            **{m.name: m.result() for m in self.metrics},
            "step_wasserstein_estimate": wasserstein,
        }

    @property
    def uses_penalty(self) -> bool:
        return self.constraint == "gradient_penalty"

    def critic_terms(self, score, input_gradient, real, fake, eps=None):
        """mean D(real) - mean D(fake) and, with the gradient penalty, mean((|grad D(x^)| - 1)^2)
        at the interpolates x^ = real + eps * (fake - real). ``score`` maps images to the
        critic's scores, ``input_gradient(f, x)`` gives (aux, d target / dx) for
        ``target, aux = f(x)``: each backend's own.

        One critic call scores real, fake (and interpolates) together: one set of convolutions.
        The critic treats images independently, so the gradient of the interpolates' summed
        scores with respect to its input is each interpolate's own gradient. A batch-normalized
        critic does not: it scores real and fake in two calls (real first), each normalized
        with its own batch's statistics, as WGAN-GP's clipped mnist.py does; one call would mix
        the two batches' statistics, so each score would depend on the other batch.
        """
        batch_size = ops.shape(real)[0]
        if self.critic_normalizes_batches:
            return ops.mean(score(real)) - ops.mean(score(fake)), ops.convert_to_tensor(0.0)
        if not self.uses_penalty:
            scores = score(ops.concatenate([real, fake], axis=0))
            wasserstein = ops.mean(scores[:batch_size]) - ops.mean(scores[batch_size:])
            return wasserstein, ops.convert_to_tensor(0.0)
        interpolates = real + eps * (fake - real)
        images = ops.concatenate([real, fake, interpolates], axis=0)

        def interpolate_scores(images):
            scores = score(images)
            return ops.sum(scores[2 * batch_size :]), scores

        scores, grads = input_gradient(interpolate_scores, images)
        grads = grads[2 * batch_size :]
        norms = ops.sqrt(ops.sum(ops.square(grads), axis=(1, 2, 3)) + 1e-12)
        wasserstein = ops.mean(scores[:batch_size]) - ops.mean(scores[batch_size : 2 * batch_size])
        return wasserstein, ops.mean(ops.square(norms - 1.0))

    def _generator_step(self, batch_size):
        generator_weights = self.generator.trainable_weights
        with tf.GradientTape() as tape:
            generated = self.generator(self.sample_noise(batch_size), training=True)
            loss = -ops.mean(self.critic(generated, training=True))
        self.generator_optimizer.apply(tape.gradient(loss, generator_weights), generator_weights)
        self.generator_loss_tracker.update_state(loss)
        self.critic_steps_pending.assign(0)
        return tf.no_op()


def input_gradient(fn, x):
    """``target, aux = fn(x)``: (aux, d target / d x), itself differentiable (the penalty), on
    the backend Keras runs on."""
    if BACKEND == "jax":
        return jax_adapter.input_gradient(fn, x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        target, aux = fn(x)
    return aux, tape.gradient(target, x)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
