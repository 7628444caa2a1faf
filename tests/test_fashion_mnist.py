"""End to end on the second data set: `kedro run --env test` on Fashion-MNIST, through the CLI."""

from __future__ import annotations

import keras
import mlflow
import pytest

from .helpers import TEST_EXPERIMENT, kedro, make_project_copy, model_versions

pytestmark = pytest.mark.e2e


def test_kedro_run_on_fashion_mnist_keeps_its_own_judge_and_tags_the_run(tmp_path):
    project = make_project_copy(tmp_path, with_mnist=False, with_fashion=True)
    done = kedro(project, "run", "--env", "test", "--params", "data.dataset=fashion_mnist")
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 0, output[-5000:]
    assert "The fashion_mnist judge's test accuracy" in output

    judge = project / "data" / "06_models" / "fashion_mnist" / "test_judge.keras"
    assert keras.saving.load_model(judge).name == "fashion_mnist_classifier"
    (generator,) = model_versions(project, "generator", dataset="fashion_mnist")
    assert keras.saving.load_model(generator).name == "fashion_mnist_generator"
    assert not (project / "data" / "06_models" / "mnist").exists()  # MNIST's judge untouched
    assert not (project / "data" / "01_raw" / "mnist.npz").exists()  # nothing of MNIST read

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name(TEST_EXPERIMENT).experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.tags["dataset"] == "fashion_mnist"
    assert run.data.params["data.dataset"] == "fashion_mnist"
    assert 0 <= run.data.metrics["eval.generated.fid"]
