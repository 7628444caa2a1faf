"""The JAX-only trainer's pieces that need no JAX run (tests/test_train_jax.py runs it)."""

import keras
import numpy as np
import pytest

from wgan_pipeline.training_run.run_folder import RunFolders
from wgan_pipeline.training_run.scanned import epoch_order, train_scanned

from ..helpers import tiny_training


def test_each_epoch_is_a_permutation_fixed_by_seed_and_epoch():
    order = epoch_order(105, 10, seed=3, epoch=0)
    assert order.shape == (10, 10) and order.dtype == np.int32  # the last 5 are dropped
    assert len(set(order.ravel().tolist())) == 100 and order.max() < 105
    np.testing.assert_array_equal(order, epoch_order(105, 10, seed=3, epoch=0))
    assert not np.array_equal(order, epoch_order(105, 10, seed=3, epoch=1))
    assert not np.array_equal(order, epoch_order(105, 10, seed=4, epoch=0))


@pytest.mark.skipif(keras.backend.backend() == "jax", reason="on JAX it trains")
def test_it_refuses_another_backend_naming_the_fix(tmp_path):
    images = np.zeros((8, 28, 28, 1), np.float32)
    with pytest.raises(RuntimeError, match="KERAS_BACKEND=jax"):
        train_scanned(images, tiny_training(), RunFolders(tmp_path))
    assert not any(tmp_path.iterdir())
