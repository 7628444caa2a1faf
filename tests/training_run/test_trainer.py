"""The training run around fit: exact step counts whatever steps_per_execution, and a broken
checkpoint set aside instead of blocking every later run."""

import logging

import pytest

from wgan_pipeline.training_run import checkpoints
from wgan_pipeline.training_run.trainer import set_steps_per_call, train

from ..helpers import make_wgan, tiny_training


@pytest.mark.parametrize(("asked", "runs"), [(1, 1), (2, 2), (3, 2), (4, 4), (7, 4), (10**9, 4)])
def test_steps_per_call_divide_the_epoch(asked, runs):
    wgan = make_wgan()
    assert set_steps_per_call(wgan, asked, 4) == runs == wgan.steps_per_execution


@pytest.mark.parametrize("asked", [1, 3, 7, 10**9])
def test_training_takes_exactly_epochs_times_steps_critic_updates(asked, images, tmp_path, folders):
    result = train(images, tiny_training(steps_per_execution=asked), folders)
    assert int(result.steps["critic_step"].iloc[-1]) == 2 * 4
    assert len(result.history) == 2


def test_an_unreadable_checkpoint_is_set_aside_and_training_starts_fresh(
    images, tmp_path, caplog, folders
):
    params = tiny_training()
    wgan = make_wgan()
    identity = checkpoints.training_identity(params.model_dump(), images)
    folder = tmp_path / "run-1-1"
    folder.mkdir()
    broken = checkpoints.save(folder, wgan, checkpoints.Progress(critic_step=2), identity)
    (broken / "progress.json").write_text("")  # a power cut after the rename
    with caplog.at_level(logging.WARNING):
        result = train(images, params, folders)
    assert int(result.steps["critic_step"].iloc[0]) == 1  # from the start
    assert "set aside as" in caplog.text and "progress.json cannot be read" in caplog.text
    (kept,) = folder.glob("broken-step-*")
    assert (kept / "state.weights.h5").exists()  # renamed, not deleted
