"""The WGAN a run trains, built and compiled as ``params:training`` says: shared by the Kedro
node's training (trainer.py, on either backend) and the JAX-only script (scanned.py), so both
train the same networks with the same optimizers. Imports Keras alone."""

from __future__ import annotations

import keras

from wgan_pipeline.gan.models import build_critic, build_generator
from wgan_pipeline.gan.wgan import WGAN
from wgan_pipeline.params import TrainingParams


def make_optimizer(
    params: TrainingParams, updates: int, ema: bool = False
) -> keras.optimizers.Optimizer:
    """A fresh optimizer as ``params`` name it (each network needs its own instance), for a run
    of ``updates`` updates of its network (where a linear schedule reaches 0); with ``ema`` it
    also keeps the moving average of the weights it updates (``params.ema_decay``)."""
    average = {"use_ema": True, "ema_momentum": params.ema_decay} if ema else {}
    rate = params.learning_rate
    if params.lr_schedule == "linear":
        rate = keras.optimizers.schedules.PolynomialDecay(rate, max(1, updates), 0.0, power=1.0)
    if params.optimizer == "adam":
        return keras.optimizers.Adam(rate, params.beta_1, params.beta_2, **average)
    return keras.optimizers.RMSprop(rate, **average)


def build_wgan(
    params: TrainingParams, steps_per_epoch: int, generator_name: str = "generator"
) -> WGAN:
    """The compiled WGAN of ``params`` for ``steps_per_epoch`` critic steps an epoch: its
    architecture and normalization, constraint, schedules and optimizers."""
    critic_steps = params.epochs * steps_per_epoch
    dtype = "mixed_bfloat16" if params.mixed_precision else None
    wgan = WGAN(
        build_generator(
            params.latent_dim,
            architecture=params.architecture,
            fused_upsampling=params.fused_upsampling,
            width=params.width,
            normalization=params.normalization,
            dtype=dtype,
            name=generator_name,
        ),  # fmt: skip
        build_critic(
            architecture=params.architecture,
            width=params.width,
            normalization=params.normalization,
            dtype=dtype,
        ),
        latent_dim=params.latent_dim,
        constraint=params.constraint,
        clip_value=params.clip_value,
        gp_weight=params.gp_weight,
        n_critic=params.n_critic,
        critic_schedule=params.critic_schedule,
        noise=params.noise,
        seed=params.seed,
    )
    wgan.compile(
        critic_optimizer=make_optimizer(params, critic_steps),
        generator_optimizer=make_optimizer(
            params, -(-critic_steps // params.n_critic), ema=params.ema_decay is not None
        ),
        steps_per_execution=params.steps_per_execution,
        jit_compile=params.jit_compile,
    )
    return wgan
