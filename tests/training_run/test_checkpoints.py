"""Checkpoints: the whole training state round-trips, writes are atomic, a full disk loses
nothing, and a checkpoint of other settings says what changed."""

import errno

import keras
import numpy as np
import pytest

from wgan_pipeline.gan.errors import CheckpointError
from wgan_pipeline.training_run import checkpoints
from wgan_pipeline.training_run.checkpoints import Progress

from ..helpers import make_wgan, real_batch


def state(wgan) -> list[np.ndarray]:
    variables = [
        *wgan.weights,
        *wgan.critic_optimizer.variables,
        *wgan.generator_optimizer.variables,
    ]
    return [keras.ops.convert_to_numpy(v) for v in variables] + [
        keras.ops.convert_to_numpy(wgan.noise_seed.state)
    ]


def trained_wgan(steps=2, seed=0):
    wgan = make_wgan(n_critic=2, seed=seed)
    for i in range(steps):
        wgan.train_on_batch(real_batch(seed=i))
    return wgan


def test_a_checkpoint_restores_networks_optimizers_counters_and_noise(tmp_path):
    wgan = trained_wgan(steps=3)
    progress = Progress(critic_step=3, history=[{"epoch": 1}], steps=[[1, 1, 0.5]],
                        samples=[np.ones((4, 28, 28), np.uint8)], run_id="abc")  # fmt: skip
    path = checkpoints.save(tmp_path, wgan, progress, {"params": {}})
    saved = state(wgan)
    next_loss = wgan.train_on_batch(real_batch(seed=9), return_dict=True)  # moves everything

    fresh = make_wgan(n_critic=2, seed=1)
    restored = checkpoints.restore(path, fresh)
    for a, b in zip(state(fresh), saved):
        np.testing.assert_array_equal(a, b)
    assert (restored.critic_step, restored.run_id, restored.steps) == (3, "abc", [[1, 1, 0.5]])
    np.testing.assert_array_equal(restored.samples[0], progress.samples[0])
    # the same next step as the original took: same noise, same counters, same slots
    assert fresh.train_on_batch(real_batch(seed=9), return_dict=True) == pytest.approx(next_loss)


def test_only_complete_checkpoints_count_and_older_ones_go(tmp_path):
    wgan = trained_wgan(steps=1)
    first = checkpoints.save(tmp_path, wgan, Progress(critic_step=1), {"params": {}})
    (tmp_path / ".tmp-step-000000009-0").mkdir()  # a crash while writing a later one
    assert checkpoints.latest(tmp_path) == first
    second = checkpoints.save(tmp_path, wgan, Progress(critic_step=2), {"params": {}})
    assert checkpoints.latest(tmp_path) == second and not first.exists()
    assert not list(tmp_path.glob(".tmp-*"))


def test_a_full_disk_while_checkpointing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    wgan = trained_wgan(steps=1)
    first = checkpoints.save(tmp_path, wgan, Progress(critic_step=1), {"params": {}})
    before = {p.name: p.read_bytes() for p in first.iterdir()}

    def full_disk(path, *args, **kwargs):
        open(path, "wb").write(b"partial")  # noqa: SIM115 (a half-written file, then ENOSPC)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(wgan, "save_weights", full_disk)
    with pytest.raises(CheckpointError) as info:
        checkpoints.save(tmp_path, wgan, Progress(critic_step=2), {"params": {}})
    message = str(info.value)
    assert "No space left on device" in message and str(first) in message
    assert "run the same command to resume" in message
    assert checkpoints.latest(tmp_path) == first
    assert {p.name: p.read_bytes() for p in first.iterdir()} == before
    assert not list(tmp_path.glob(".tmp-*"))


def test_other_settings_are_named(tmp_path):
    images = np.zeros((10, 28, 28, 1), np.float32)
    identity = checkpoints.training_identity({"clip_value": 0.1, "epochs": 3}, images)
    path = checkpoints.save(tmp_path, trained_wgan(steps=1), Progress(critic_step=1), identity)
    more_epochs = checkpoints.training_identity({"clip_value": 0.1, "epochs": 30}, images)
    assert checkpoints.why_incompatible(path, more_epochs) is None  # epochs do not matter
    other = checkpoints.training_identity({"clip_value": 0.05, "epochs": 3}, images[:8])
    reason = checkpoints.why_incompatible(path, other)
    assert "training.clip_value 0.1 -> 0.05" in reason and "training images (10 -> 8)" in reason
