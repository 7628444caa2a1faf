"""The training session: what happens after a step and an epoch, for both trainers."""

import re

import numpy as np
import pytest

from wgan_pipeline.gan.errors import TrainingDivergedError
from wgan_pipeline.training_run.data import make_dataset
from wgan_pipeline.training_run.session import STEP_ESTIMATE, TrainingSession
from wgan_pipeline.training_run.trainer import SessionSteps

from ..helpers import BATCH, make_wgan, real_batch, tiny_training


def test_divergence_stops_training_with_the_epoch_step_and_value(folders):
    """An absurd learning rate blows the critic up: fit must stop at once with an error that
    names where and what, not end quietly (Keras' TerminateOnNaN) and let a broken model be
    saved."""
    wgan = make_wgan(critic_lr=1e30, constraint="gradient_penalty")
    images = np.concatenate([real_batch(seed=s) for s in range(8)])
    params = tiny_training(batch_size=BATCH, epochs=3, constraint="gradient_penalty")
    with pytest.raises(TrainingDivergedError) as info:
        with TrainingSession(wgan, params, images, folders, "fit") as session:
            wgan.fit(make_dataset(images, BATCH, seed=0), epochs=3, steps_per_epoch=8,
                     shuffle=False, verbose=0, callbacks=[SessionSteps(session)])  # fmt: skip
    message = str(info.value)
    assert re.search(r"in epoch 1 at critic step \d+: \w+ = (nan|inf|-inf)", message), message
    assert "training.learning_rate" in message


def test_a_scanned_epochs_first_non_finite_value_is_named_at_its_own_step(images, folders):
    """The scanned trainer hands an epoch's per-step logs at once: the message names the
    earliest step any quantity broke at, as fit's step-by-step check would."""
    with TrainingSession(make_wgan(), tiny_training(), images, folders, "scanned") as session:
        logs = {"critic_loss": [0.1, 0.2, 0.3, np.nan], "generator_loss": [0.1, np.inf, 0.2, 0.3],
                STEP_ESTIMATE: [0.1, 0.2, 0.3, 0.4]}  # fmt: skip
        with pytest.raises(TrainingDivergedError, match=r"in epoch 2 at critic step 6: generator"):
            session.after_steps(8, logs)


def test_an_epochs_last_step_is_saved_after_its_judging_not_before(images, folders):
    """A step checkpoint at an epoch's last step would hold the epoch without its judging: a
    kill right after it resumed with that judging lost (and could keep another generator)."""
    params = tiny_training(checkpoint_every_steps=1)
    with TrainingSession(make_wgan(), params, images, folders, "fit",
                         save_every_steps=1) as session:  # fmt: skip
        saved = []
        session.save = lambda: saved.append(session.progress.steps[-1][0])
        for step in range(1, 5):  # the 4 steps of epoch 1
            session.after_steps(step, {STEP_ESTIMATE: 0.1})
        assert saved == [1, 2, 3]
        session.after_epoch(1, {}, 1.0)  # after the judging
        assert saved == [1, 2, 3, 4]
