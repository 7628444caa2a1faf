"""The WGAN a run builds: a linear learning-rate schedule reaches 0 at the run's last update,
and then the epochs are part of what a checkpoint must match."""

from __future__ import annotations

import numpy as np
import pytest

from wgan_pipeline.training_run import checkpoints
from wgan_pipeline.training_run.build import build_wgan

from ..helpers import tiny_training


def rate(optimizer) -> float:
    return float(optimizer.learning_rate)  # the schedule's value at the optimizer's iterations


@pytest.mark.parametrize("n_critic", [1, 2])
def test_a_linear_schedule_falls_from_the_learning_rate_to_zero_at_the_last_update(n_critic):
    params = tiny_training(lr_schedule="linear", learning_rate=1e-3, epochs=2, n_critic=n_critic)
    wgan = build_wgan(params, steps_per_epoch=4)  # 8 critic steps, 8 / n_critic generator steps
    critic, generator = wgan.critic_optimizer, wgan.generator_optimizer
    assert rate(critic) == pytest.approx(1e-3) and rate(generator) == pytest.approx(1e-3)
    critic.iterations.assign(4)
    generator.iterations.assign(4 // n_critic)
    assert rate(critic) == pytest.approx(5e-4) and rate(generator) == pytest.approx(5e-4)
    critic.iterations.assign(8)
    generator.iterations.assign(8 // n_critic)
    assert rate(critic) == 0 and rate(generator) == 0


def test_a_constant_schedule_keeps_the_learning_rate():
    wgan = build_wgan(tiny_training(learning_rate=1e-3), steps_per_epoch=4)
    wgan.critic_optimizer.iterations.assign(1000)
    assert rate(wgan.critic_optimizer) == pytest.approx(1e-3)


def test_more_epochs_continue_a_run_unless_the_schedule_depends_on_them():
    images = np.zeros((8, 28, 28, 1), np.float32)

    def identity(**overrides):
        return checkpoints.training_identity(tiny_training(**overrides).model_dump(), images)

    assert identity(epochs=2) == identity(epochs=3)
    assert identity(epochs=2, lr_schedule="linear") != identity(epochs=3, lr_schedule="linear")
