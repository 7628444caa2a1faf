"""RunTagsHook: the Kedro env, the data set, the git commit and the devices on the active run."""

import subprocess

import mlflow
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline

from wgan_pipeline.hooks import RunTagsHook


def test_tags_the_env_and_the_commit(tracking_uri, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "f").write_text("x")
    subprocess.run([*git, "add", "f"], check=True)
    subprocess.run([*git, "commit", "-qm", "c"], check=True)
    commit = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=False, capture_output=True, text=True
    ).stdout
    (repo / "f").write_text("changed")
    catalog = DataCatalog({"params:data": MemoryDataset({"dataset": "fashion_mnist"})})
    with mlflow.start_run() as run:
        RunTagsHook().before_pipeline_run(
            {"env": "test", "project_path": str(repo)}, Pipeline([]), catalog
        )
    tags = mlflow.MlflowClient().get_run(run.info.run_id).data.tags
    assert tags["kedro_env"] == "test"
    assert tags["dataset"] == "fashion_mnist"
    assert tags["git_commit"] == commit.strip() and tags["git_dirty"] == "true"
    assert tags["devices"]  # what the backend computes on


def test_outside_git_only_the_env_and_without_a_run_nothing(tracking_uri, tmp_path):
    RunTagsHook().before_pipeline_run(
        {"env": None, "project_path": str(tmp_path)}, Pipeline([]), None
    )
    with mlflow.start_run() as run:
        RunTagsHook().before_pipeline_run(
            {"env": None, "project_path": str(tmp_path)}, Pipeline([]), DataCatalog()
        )
    tags = mlflow.MlflowClient().get_run(run.info.run_id).data.tags
    assert tags["kedro_env"] == "local" and "git_commit" not in tags
