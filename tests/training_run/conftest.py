"""What the training-run tests share: tiny training parameters, 32 images, and the run folders
released after each test as the cleanup hook releases them after a run."""

import numpy as np
import pytest

from wgan_pipeline.training_run import run_folder

from ..helpers import real_batch


@pytest.fixture
def images():
    return np.concatenate([real_batch(16, seed=s) for s in range(2)])  # 32 images: 4 steps


@pytest.fixture(autouse=True)
def release_run_folders():
    yield
    run_folder.release_finished(remove=True)  # what the cleanup hook does after a run
