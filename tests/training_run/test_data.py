"""The training feed: full batches, a new order every epoch, and exact resumption."""

import numpy as np
import pytest

from wgan_pipeline.training_run.data import make_dataset


def batches(dataset, n):
    return [b.numpy().ravel() for b in dataset.take(n)]


def test_dataset_batches_are_full_shuffled_and_reshuffled():
    images = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    four = batches(make_dataset(images, batch_size=4, seed=0), 4)  # 2 batches an epoch
    epochs = [np.concatenate(four[:2]), np.concatenate(four[2:])]
    assert all(len(e) == 8 for e in epochs)  # 2 full batches, the remainder dropped
    assert len(set(epochs[0])) == 8 and set(epochs[0]) <= set(range(10))
    assert not np.array_equal(epochs[0], epochs[1])  # a new order every epoch


def test_dataset_resumes_with_the_batches_an_uninterrupted_run_sees():
    """Epoch e's order depends on (seed, e) only: starting at epoch 1, step 1 gives exactly the
    batches that follow there in a dataset started at the beginning."""
    images = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    whole = batches(make_dataset(images, batch_size=4, seed=3), 6)
    resumed = batches(make_dataset(images, batch_size=4, seed=3, start_epoch=1, skip_steps=1), 3)
    for a, b in zip(whole[3:], resumed):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(np.concatenate(whole[:2]), np.concatenate(batches(
        make_dataset(images, batch_size=4, seed=4), 2)))  # fmt: skip


def test_too_few_images_for_one_batch_is_explained():
    with pytest.raises(ValueError, match="fewer than one batch of 50.*data.max_train_images"):
        make_dataset(np.zeros((10, 28, 28, 1), np.float32), batch_size=50, seed=0)
