"""The training callbacks."""

import re

import numpy as np
import pytest

from wgan_pipeline.gan.errors import TrainingDivergedError
from wgan_pipeline.training_run.callbacks import StopOnDivergence
from wgan_pipeline.training_run.data import make_dataset

from ..helpers import BATCH, make_wgan, real_batch


def test_divergence_stops_training_with_the_epoch_step_and_value():
    """An absurd learning rate blows the critic up: fit must stop at once with an error that
    names where and what, not end quietly (Keras' TerminateOnNaN) and let a broken model be
    saved."""
    wgan = make_wgan(critic_lr=1e30, constraint="gradient_penalty")
    images = np.concatenate([real_batch(seed=s) for s in range(8)])
    with pytest.raises(TrainingDivergedError) as info:
        wgan.fit(make_dataset(images, BATCH, seed=0), epochs=3, verbose=0,
                 callbacks=[StopOnDivergence()])  # fmt: skip
    message = str(info.value)
    assert re.search(r"in epoch 1 at critic step \d+: \w+ = (nan|inf|-inf)", message), message
    assert "training.learning_rate" in message
