"""The training callbacks."""

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from wgan_pipeline.gan.errors import TrainingDivergedError
from wgan_pipeline.training_run.callbacks import Checkpoint, StopOnDivergence
from wgan_pipeline.training_run.checkpoints import Progress
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


def test_an_epochs_last_step_is_saved_after_its_judging_not_before():
    """A step checkpoint at an epoch's last step would hold the epoch without its judging: a
    kill right after it resumed with that judging lost (and could keep another generator)."""
    checkpoint = Checkpoint(Path("unused"), Progress(), {}, every_steps=1)
    checkpoint.set_params({"steps": 4, "epochs": 1})
    step = SimpleNamespace(value=0)
    optimizer = SimpleNamespace(iterations=SimpleNamespace(numpy=lambda: step.value))
    checkpoint.set_model(SimpleNamespace(critic_optimizer=optimizer))  # what fit does
    saved = []
    checkpoint.save_now = lambda: saved.append(step.value)
    for batch in range(4):
        step.value = batch + 1
        checkpoint.on_train_batch_end(batch)
    assert saved == [1, 2, 3]
    checkpoint.on_epoch_end(0)  # after the judging callbacks
    assert saved == [1, 2, 3, 4]
