"""The training feed: shuffled batches of images from memory, as tf.data."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def make_dataset(
    images: np.ndarray, batch_size: int, seed: int, start_epoch: int = 0, skip_steps: int = 0
) -> tf.data.Dataset:
    """Endless shuffled batches of ``batch_size`` images from memory, epoch after epoch from
    ``start_epoch``, the first ``skip_steps`` batches left out (a resumed run).

    Epoch e's order is a function of (seed, e) alone, so a resumed run sees the very batches an
    uninterrupted one would. Shuffles indices and gathers on the device: no per-step Python or
    NumPy, and no second copy of the images. Each epoch's last incomplete batch is dropped.
    """
    if len(images) < batch_size:
        raise ValueError(
            f"{len(images)} training images are fewer than one batch of {batch_size} "
            "(training.batch_size): lower the batch size or raise data.max_train_images."
        )
    table = tf.convert_to_tensor(images)
    indices = tf.range(len(images), dtype=tf.int64)

    def epoch_batches(epoch):
        order = tf.random.experimental.stateless_shuffle(indices, seed=tf.stack([seed, epoch]))
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder=True)

    return (
        tf.data.Dataset.range(start_epoch, np.iinfo(np.int64).max)
        .flat_map(epoch_batches)
        .skip(skip_steps)
        .map(lambda idx: tf.gather(table, idx), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
