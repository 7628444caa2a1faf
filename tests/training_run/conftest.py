"""What the training-run tests share: tiny training parameters, 32 images, and the test's run
folders, released after it as the lifecycle hook releases them after a run."""

import numpy as np
import pytest

from wgan_pipeline.training_run.run_folder import RunFolders

from ..helpers import real_batch


@pytest.fixture
def images():
    return np.concatenate([real_batch(16, seed=s) for s in range(2)])  # 32 images: 4 steps


@pytest.fixture
def folders(tmp_path):
    """The run folders of checkpoints under tmp_path."""
    held = RunFolders(tmp_path)
    yield held
    held.release(remove=True)  # what the lifecycle hook does after a run
