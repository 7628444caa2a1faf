"""RunTagsHook: the Kedro env, the data set, the git commit and the devices on the active run;
the run's name, readable tags, input, headline metrics and description; the experiment's kind."""

import json
import subprocess

import mlflow
import numpy as np
import pandas as pd
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Node, Pipeline

from wgan_pipeline.datasets import LabelledImagesDataset
from wgan_pipeline.hooks import RunTagsHook

from ..helpers import base_params


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


# What kedro-mlflow does as it opens a run (mlflow.yml's run name null): the run named after the
# pipeline, Kedro's run_params as tags, each one with a value as Python's text of it (the
# runner's repr among them), and its own kedro_command.
RUN_PARAMS = {
    "run_id": "2026-12-07T10.24.35.176Z", "project_path": "/nowhere", "env": "quick",
    "kedro_version": "1.7.0", "tags": None, "from_nodes": None, "to_nodes": None,
    "node_names": None, "from_inputs": None, "to_outputs": None, "load_versions": {},
    "runtime_params": {"training": {"clip_value": 0.01, "n_critic": 5}},
    "pipeline_names": ["gan"], "namespaces": None, "only_missing_outputs": False,
    "runner": "<kedro.runner.sequential_runner.SequentialRunner object at 0x7f701540c2d0>",
}  # fmt: skip


def open_run_as_kedro_mlflow(run_params: dict) -> mlflow.ActiveRun:
    run = mlflow.start_run(run_name="+".join(run_params["pipeline_names"] or ["__default__"]))
    mlflow.set_tags({k: v for k, v in run_params.items() if v})
    mlflow.set_tag("kedro_command", "kedro run --pipeline=gan")
    return run


class Context:
    """What the hook reads of a KedroContext: the config loader (a dict will do)."""

    def __init__(self, mlflow_yml: dict):
        self.config_loader = {"mlflow": mlflow_yml}


def mlflow_yml(name: str, tags: dict | None = None) -> dict:
    return {"tracking": {"experiment": {"name": name,
                                        "create_experiment_kwargs": {"tags": tags}}}}  # fmt: skip


def started(hook: RunTagsHook, run_params: dict, catalog=None) -> str:
    """The hook's start of a run opened as kedro-mlflow opens it; the run's id."""
    run = open_run_as_kedro_mlflow(run_params)
    hook.before_pipeline_run(run_params, Pipeline([]), catalog or DataCatalog())
    return run.info.run_id


def test_the_run_is_named_after_its_env_and_params_and_its_tags_read_as_text(tracking_uri):
    hook = RunTagsHook()
    hook.after_context_created(Context(mlflow_yml("wgan_pipeline")))
    run_id = started(hook, RUN_PARAMS)
    run = mlflow.MlflowClient().get_run(run_id)
    assert run.info.run_name == "quick (gan) · training.clip_value=0.01, training.n_critic=5"
    tags = run.data.tags
    assert tags["kedro_command"] == (
        "kedro run --env quick --pipelines gan --params training.clip_value=0.01,training.n_critic=5"
    )
    assert tags["runner"] == "SequentialRunner" and tags["pipeline_names"] == "gan"
    assert tags["runtime_params"] == "training.clip_value=0.01,training.n_critic=5"
    assert tags["kedro_env"] == "quick" and tags["kedro_session_id"] == RUN_PARAMS["run_id"]
    assert "env" not in tags and "run_id" not in tags  # kedro_env and kedro_session_id say it
    assert not [k for k, v in tags.items() if " object at 0x" in v or v.startswith(("[", "{"))]


def test_a_run_of_the_default_env_is_the_chapters_and_a_run_opened_by_another_keeps_its_name(
    tracking_uri, monkeypatch
):
    hook = RunTagsHook()
    hook.after_context_created(Context(mlflow_yml("wgan_pipeline")))
    plain = {**RUN_PARAMS, "env": None, "runtime_params": {}, "pipeline_names": None}
    run_id = started(hook, plain)
    run = mlflow.MlflowClient().get_run(run_id)
    assert run.info.run_name == "chapter" and run.data.tags["kedro_command"] == "kedro run"
    mlflow.end_run()

    trial = mlflow.MlflowClient().create_run(run.info.experiment_id, run_name="trial-1")
    monkeypatch.setenv("MLFLOW_RUN_ID", trial.info.run_id)  # how a sweep hands a trial its run
    hook.after_context_created(Context(mlflow_yml("wgan_pipeline")))
    assert started(hook, RUN_PARAMS) == trial.info.run_id
    # kedro-mlflow's name for it, which the sweep gives back (sweep/trial.py), not the hook's
    assert mlflow.MlflowClient().get_run(trial.info.run_id).info.run_name == "gan"


def test_the_experiment_mlflow_yml_names_gets_its_kind_and_description_even_if_it_exists(
    tracking_uri,
):
    tags = {"mlflow.experimentKind": "custom_model_development", "mlflow.note.content": "Ours."}
    client = mlflow.MlflowClient()
    ours = client.create_experiment("wgan_pipeline")  # created before the tags were configured
    other = client.create_experiment("someone_elses", tags={"mlflow.note.content": "Theirs."})
    hook = RunTagsHook()
    hook.after_context_created(Context(mlflow_yml("wgan_pipeline", tags)))
    for experiment_id in (ours, other):
        mlflow.set_experiment(experiment_id=experiment_id)
        started(hook, RUN_PARAMS)
        mlflow.end_run()
    assert tags.items() <= client.get_experiment(ours).tags.items()
    theirs = client.get_experiment(other).tags
    assert theirs["mlflow.note.content"] == "Theirs." and "mlflow.experimentKind" not in theirs


def test_the_data_set_is_the_runs_input_and_its_result_the_description(tracking_uri, tmp_path):
    raw = {"x_train": np.zeros((6, 28, 28), np.uint8), "y_train": np.arange(6, dtype=np.uint8),
           "x_test": np.ones((2, 28, 28), np.uint8), "y_test": np.arange(2, dtype=np.uint8)}  # fmt: skip
    catalog = DataCatalog(
        {
            "raw_images": LabelledImagesDataset(dataset="mnist", path=str(tmp_path)),
            "params:data": MemoryDataset({"dataset": "mnist"}),
            "params:evaluation": MemoryDataset(base_params("evaluation")),
        }
    )
    hook = RunTagsHook()
    hook.after_context_created(Context(mlflow_yml("wgan_pipeline")))
    run_id = started(hook, RUN_PARAMS, catalog)
    first = Node(lambda raw: raw, "raw_images", "x", name="scale", namespace="data_processing")
    for _ in range(2):  # loaded by several nodes: one input
        hook.after_dataset_loaded("raw_images", raw, first)
    metrics = pd.DataFrame(
        [{"set": "generated", "images": 100, "fid": 20.46, "precision": 0.75, "recall": 0.4,
          "rarest_class_share": 0.08, "commonest_class_share": 0.12},
         {"set": "real", "images": 100, "fid": 8.0, "precision": 0.9, "recall": 0.9,
          "rarest_class_share": 0.09, "commonest_class_share": 0.11}]
    )  # fmt: skip
    hook.after_dataset_saved("evaluation_metrics", metrics)
    hook.after_dataset_saved("kept_tags", {"epoch": 7, "source": "raw", "fid": 20.46})
    mlflow.end_run()  # kedro-mlflow closes the run before the hook's last word
    hook.after_pipeline_run(RUN_PARAMS, Pipeline([]), catalog)

    run = mlflow.MlflowClient().get_run(run_id)
    (used,) = run.inputs.dataset_inputs
    assert used.dataset.name == "mnist" and used.dataset.digest
    assert json.loads(used.dataset.source)["uri"] == str(tmp_path / "mnist.npz")
    assert {t.key: t.value for t in used.tags}["mlflow.data.context"] == "training"
    # FID 20.46 <= 3 x 8, shares within 7-13%, precision 0.75 >= 0.7; recall 0.4 < 0.5
    assert run.data.metrics == {"FID": 20.46, "Precision": 0.75, "Recall": 0.4,
                                "Targets met": 3.0, "Kept epoch": 7.0}  # fmt: skip
    description = run.data.tags["mlflow.note.content"]
    assert description.startswith("Kept epoch 7: FID 20.5 on 100 samples")
    assert "(real test images: 8, the floor)" in description
    assert "\n\nTargets met: 3 of 4" in description and "recall ≥ 0.5 no" in description
