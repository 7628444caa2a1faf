"""A run whose training diverges stops at once: the MLflow run FAILED with where and what, a
non-zero outcome, no model saved over earlier ones."""

from __future__ import annotations

import keras
import mlflow
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from mlflow.tracking._tracking_service import utils as tracking_utils

from wgan_pipeline.gan.errors import TrainingDivergedError
from wgan_pipeline.training_run import build

from .helpers import TEST_EXPERIMENT, make_project_copy

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(300)
def test_a_diverging_run_fails_with_epoch_step_and_value(tmp_path, monkeypatch):
    """The real session and catalog, in this process, with an absurd learning rate (1e30,
    beyond what the parameter schema accepts, so put in by hand): the critic blows up."""
    project = make_project_copy(tmp_path)
    monkeypatch.chdir(project)
    monkeypatch.setattr(
        build, "make_optimizer", lambda params, updates, ema=False: keras.optimizers.RMSprop(1e30)
    )
    bootstrap_project(project)
    # The session's hook points MLflow at the copy's store: undo that after the test.
    monkeypatch.setattr(tracking_utils, "_tracking_uri", tracking_utils._tracking_uri)
    with KedroSession.create(project_path=project, env="test",
                             runtime_params={"training": {"constraint": "gradient_penalty"}}
                             ) as session:  # fmt: skip
        with pytest.raises(TrainingDivergedError) as info:
            session.run()
    message = str(info.value)
    assert "Training diverged in epoch 1 at critic step" in message
    assert "training.learning_rate" in message

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name(TEST_EXPERIMENT).experiment_id])
    assert run.info.status == "FAILED"
    assert run.data.tags["diverged"] == message
    assert not (project / "data" / "06_models" / "mnist" / "generator.keras").exists()
