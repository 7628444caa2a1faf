"""What an MLflow run says about itself, so runs can be told apart and compared at a glance: its
experiment is one of model training, its name is its env and ``--params``, its tags are
readable (the whole command, no object reprs), its input is the data set, its headline metrics
come first and its description is its result. Also what kedro-mlflow leaves out: the Kedro env,
the data set, the git commit, the devices and the judge that produced its numbers."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from kedro.config import MissingConfigException
from kedro.framework.hooks import hook_impl
from mlflow.data.dataset_source_registry import get_dataset_source_from_json

from wgan_pipeline.console import result_lines
from wgan_pipeline.gan.metrics import targets_met

# The default env (conf/local, which adds nothing of the project's own) and conf/base hold the
# chapter's settings: a run of them is named after the chapter.
DEFAULT_ENVS = (None, "", "local", "base")
MAX_RUN_NAME = 250  # MLflow's runs.name column (PostgreSQL enforces it)
# The kedro-mlflow tags that repeat another: `env` is `kedro_env`; `run_id` is Kedro's session
# id (kept as `kedro_session_id`), not the MLflow run's id it reads as.
REPLACED_TAGS = ("env", "run_id")
# The `kedro run` options, in the order the command shows them, for the run_params that hold them.
LIST_OPTIONS = (
    ("tags", "--tags"),
    ("node_names", "--nodes"),
    ("from_nodes", "--from-nodes"),
    ("to_nodes", "--to-nodes"),
    ("from_inputs", "--from-inputs"),
    ("to_outputs", "--to-outputs"),
    ("namespaces", "--namespaces"),
)


class RunTagsHook:
    """After kedro-mlflow started the run (``trylast``): the experiment's kind (machine
    learning, not GenAI) and description, from mlflow.yml's ``create_experiment_kwargs.tags``
    (which MLflow applies only when it creates the experiment); the run's name (``run_name``; a run someone else opened, a sweep trial's,
    keeps its own); kedro-mlflow's tags made readable (``readable_tags``; its ``env`` and
    ``run_id`` go); and tags ``kedro_env``, ``dataset``, ``git_commit``, ``git_dirty`` and
    ``devices``, so runs can be compared by configuration, data, code and hardware; and the
    judge's identity as parameters (``judge.name``, ``judge.hash``, ``judge.test_accuracy`` and
    the ``classifier.*`` settings it was trained with, from its card), whether the run trains it
    or loads the saved one, so the compare page shows which FIDs compare. The devices are logged
    before any node, with the install line where a GPU is there but the backend does not see it.

    While the run goes: the raw data set, as it is first loaded, is the run's input
    (``data_set_input``); the final evaluation, as it is saved, gives the headline metrics
    (``headline_metrics``). Once the run has ended (``trylast``, after kedro-mlflow closed it):
    its description says what it kept and how good it is (``result_description``)."""

    def __init__(self) -> None:
        self._catalog = None
        self._experiment_name: str | None = None
        self._experiment_tags: dict[str, str] = {}
        self._adopted = False
        self._reset()

    def _reset(self) -> None:
        self._run_id: str | None = None
        self._dataset: str | None = None
        self._input_logged = False
        self._targets: dict[str, float] | None = None
        self._saved: dict[str, Any] = {}

    @hook_impl
    def after_context_created(self, context) -> None:
        self._experiment_name, self._experiment_tags = experiment_settings(context.config_loader)
        # A run opened before the session (an orchestrator's; a sweep trial's, named in
        # MLFLOW_RUN_ID) is named by whoever opened it.
        self._adopted = mlflow.active_run() is not None or bool(os.environ.get("MLFLOW_RUN_ID"))

    @hook_impl(trylast=True)
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog) -> None:
        from wgan_pipeline.training_run.devices import report_devices  # noqa: PLC0415 (Keras)

        self._reset()
        self._catalog = catalog
        devices = report_devices()
        run = mlflow.active_run()
        if run is None:  # tracking switched off for this pipeline
            return
        self._run_id = run.info.run_id
        client = mlflow.MlflowClient()
        tag_experiment(client, run.info.experiment_id, self._experiment_name,
                       self._experiment_tags)  # fmt: skip
        if "classifier" in pipeline.inputs():
            log_judge(catalog)
        tags = {"kedro_env": run_params.get("env") or "local", "devices": devices}
        data = _param(catalog, "data")
        self._dataset = (
            data.get("dataset") if isinstance(data, dict) else getattr(data, "dataset", None)
        )
        if self._dataset:
            tags["dataset"] = self._dataset
        self._targets = _targets(_param(catalog, "evaluation"))
        mlflow.set_tags({**tags, **git_tags(Path(run_params["project_path"])),
                         **readable_tags(run_params)})  # fmt: skip
        present = client.get_run(self._run_id).data.tags
        for key in REPLACED_TAGS:
            if key in present:
                client.delete_tag(self._run_id, key)
        if not self._adopted:
            mlflow.set_tag("mlflow.runName", run_name(run_params))

    @hook_impl
    def after_dataset_loaded(self, dataset_name: str, data: Any, node) -> None:
        if dataset_name != "raw_images" or self._input_logged or mlflow.active_run() is None:
            return
        source = getattr(self._catalog.get("raw_images"), "source", None)
        # The first node to load it says what the run does with it.
        context = "evaluation" if node.namespace in ("evaluation", "release") else "training"
        mlflow.log_input(data_set_input(data, self._dataset or "raw_images", source), context)
        self._input_logged = True

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any) -> None:
        if mlflow.active_run() is None:
            return
        if dataset_name == "judge_card":
            log_judge(self._catalog)  # the card saved: another run's if it saved one first
        elif dataset_name == "evaluation_metrics":
            self._saved[dataset_name] = data
            mlflow.log_metrics(headline_metrics(data, self._targets))
        elif dataset_name == "kept_tags":
            self._saved[dataset_name] = data
            mlflow.log_metric("Kept epoch", float(data["epoch"]))

    @hook_impl(trylast=True)
    def after_pipeline_run(self, run_params, pipeline, catalog) -> None:
        metrics = self._saved.get("evaluation_metrics")
        if self._run_id is not None and metrics is not None:
            description = result_description(metrics, self._saved.get("kept_tags"), self._targets)
            mlflow.MlflowClient().set_tag(self._run_id, "mlflow.note.content", description)
        self._reset()

    @hook_impl
    def on_pipeline_error(self, error, run_params, pipeline, catalog) -> None:
        self._reset()


def _param(catalog, group: str) -> Any:
    return catalog.load(f"params:{group}") if catalog.exists(f"params:{group}") else {}


def _targets(evaluation: Any) -> dict[str, float] | None:
    """params:evaluation's quality targets, whether Kedro hands the group typed or as a dict."""
    if isinstance(evaluation, dict):
        targets = evaluation.get("targets")
    else:
        targets = getattr(evaluation, "targets", None)
    return targets.model_dump() if hasattr(targets, "model_dump") else targets


# --- the experiment --------------------------------------------------------------------------


def experiment_settings(config_loader) -> tuple[str | None, dict[str, str]]:
    """mlflow.yml's experiment name and the tags it creates the experiment with."""
    try:
        experiment = (config_loader["mlflow"].get("tracking") or {}).get("experiment") or {}
    except MissingConfigException:  # no mlflow.yml: kedro-mlflow's defaults, no tags
        return None, {}
    tags = (experiment.get("create_experiment_kwargs") or {}).get("tags") or {}
    return experiment.get("name"), {str(k): str(v) for k, v in tags.items()}


def tag_experiment(
    client: mlflow.MlflowClient, experiment_id: str, name: str | None, tags: dict[str, str]
) -> None:
    """Give the experiment mlflow.yml names the tags it would have been created with (an
    experiment created before they were set, or by another tool, has none). Another
    experiment (a run opened before the session logs to its own) is left as it is."""
    experiment = client.get_experiment(experiment_id)
    if experiment.name != name:
        return
    for key, value in tags.items():
        if experiment.tags.get(key) != value:
            client.set_experiment_tag(experiment_id, key, value)


# --- the run's name and tags -----------------------------------------------------------------


def param_items(runtime_params: Mapping[str, Any], prefix: str = "") -> list[str]:
    """``--params`` as typed: ``{"training": {"n_critic": 5}}`` -> ``["training.n_critic=5"]``."""
    items = []
    for key, value in runtime_params.items():
        if isinstance(value, Mapping):
            items += param_items(value, f"{prefix}{key}.")
        else:
            items.append(f"{prefix}{key}={_text(value)}")
    return items


def _text(value: Any) -> str:
    """A parameter value as YAML (and so ``--params``) reads it back."""
    if isinstance(value, bool):
        return str(value).lower()
    return "null" if value is None else str(value)


def runner_name(runner: str | None) -> str | None:
    """The runner's class name from Kedro's record of it, which is the instance's repr
    (``<kedro.runner.sequential_runner.SequentialRunner object at 0x7f...>``) or its path."""
    if not runner:
        return None
    found = re.fullmatch(r"<([\w.]+) object at 0x[0-9a-fA-F]+>", runner)
    return (found.group(1) if found else runner).rsplit(".", 1)[-1]


def _pipelines(run_params: Mapping[str, Any]) -> list[str]:
    return [name for name in run_params.get("pipeline_names") or [] if name != "__default__"]


def kedro_command(run_params: Mapping[str, Any]) -> str:
    """The ``kedro run`` command that ran, with its env, pipeline, slicing options and
    ``--params``, as a shell reads it."""
    parts = ["kedro", "run"]
    if run_params.get("env"):
        parts += ["--env", run_params["env"]]
    pipelines = _pipelines(run_params)
    if pipelines:  # --pipeline, for one, is deprecated in Kedro 1.7
        parts += ["--pipelines", ",".join(pipelines)]
    for key, option in LIST_OPTIONS:
        if run_params.get(key):
            parts += [option, ",".join(run_params[key])]
    if run_params.get("load_versions"):
        versions = [f"{name}:{version}" for name, version in run_params["load_versions"].items()]
        parts += ["--load-versions", ",".join(versions)]
    runner = runner_name(run_params.get("runner"))
    if runner not in (None, "SequentialRunner"):
        parts += ["--runner", runner]
    if run_params.get("only_missing_outputs"):
        parts.append("--only-missing-outputs")
    overrides = param_items(run_params.get("runtime_params") or {})
    if overrides:
        parts += ["--params", ",".join(overrides)]
    return shlex.join(parts)


def readable_tags(run_params: Mapping[str, Any]) -> dict[str, str]:
    """kedro-mlflow's tags of ``run_params`` (it tags each one that has a value with Python's
    text of it: lists, dicts, the runner's repr), as text a person reads: lists joined with
    commas, ``--params`` as typed, the runner's class name; ``kedro_command`` with the env and
    params it leaves out; ``kedro_session_id`` for its ``run_id``."""
    tags = {"kedro_command": kedro_command(run_params)}
    for key, value in run_params.items():
        if not value or key in REPLACED_TAGS:
            continue
        if key == "runtime_params":
            tags[key] = ",".join(param_items(value))
        elif key == "runner":
            tags[key] = runner_name(value)
        elif isinstance(value, Mapping):
            tags[key] = ",".join(f"{k}:{v}" for k, v in value.items())
        elif isinstance(value, list | tuple | set):
            tags[key] = ",".join(map(str, value))
        elif isinstance(value, bool):
            tags[key] = _text(value)
    if run_params.get("run_id"):
        tags["kedro_session_id"] = str(run_params["run_id"])
    return tags


def run_name(run_params: Mapping[str, Any]) -> str:
    """What the run is: its env (``chapter`` for conf/base's settings), the pipeline when not
    the whole one, and its ``--params``: ``clipped · training.n_critic=5``,
    ``chapter (evaluation)``."""
    env = run_params.get("env")
    name = "chapter" if env in DEFAULT_ENVS else env
    pipelines = _pipelines(run_params)
    if pipelines:
        name += f" ({'+'.join(pipelines)})"
    overrides = param_items(run_params.get("runtime_params") or {})
    if overrides:
        name += " · " + ", ".join(overrides)
    return name if len(name) <= MAX_RUN_NAME else name[: MAX_RUN_NAME - 1] + "…"


# --- the run's input and result --------------------------------------------------------------


def data_set_input(
    data: Mapping[str, np.ndarray], name: str, source: Path | None
) -> mlflow.data.dataset.Dataset:
    """The raw data set as an MLflow input: its images as features, its labels as targets,
    named after the data set, with the file (or folder) it was read from as its source. The
    digest is MLflow's, cheap for any size: each array's shape and first 10,000 values."""
    features = {key: array for key, array in data.items() if key.startswith("x_")}
    targets = {key: array for key, array in data.items() if key.startswith("y_")}
    local = None
    if source is not None:  # by its type: a bare path matches two of MLflow's source classes,
        # and MLflow warns as it picks one
        local = get_dataset_source_from_json(json.dumps({"uri": str(source)}), source_type="local")
    return mlflow.data.from_numpy(features, targets=targets or None, source=local, name=name)


def headline_metrics(
    metrics: pd.DataFrame, targets: Mapping[str, float] | None
) -> dict[str, float]:
    """The few numbers a run is compared by, from the final evaluation's table: the kept
    generator's ``FID``, ``Precision`` and ``Recall`` and how many of the quality targets it
    meets (``Targets met``, 0 to 4). Capitalised, so MLflow lists them first: it sorts metric
    names character by character (capitals before lower case; ``system/...`` comes after), and
    every other metric of the project is lower case. Values as computed, unrounded."""
    rows = metrics.set_index("set")
    generated = rows.loc["generated"]
    headline = {
        "FID": float(generated["fid"]),
        "Precision": float(generated["precision"]),
        "Recall": float(generated["recall"]),
    }
    if targets is not None:
        met = targets_met(generated, float(rows.loc["real", "fid"]), targets)
        headline["Targets met"] = float(sum(met.values()))
    return headline


def result_description(
    metrics: pd.DataFrame, kept: Mapping[str, Any] | None, targets: Mapping[str, float] | None
) -> str:
    """The run's description (markdown): the console's closing lines on what it kept, how good
    it is and which quality targets it meets (console.result_lines)."""
    return "\n\n".join(result_lines(metrics, kept, targets))


# --- the judge and the code --------------------------------------------------------------------


def log_judge(catalog) -> None:
    """The judge's card as run parameters."""
    card = catalog.load("judge_card")
    if card is None:
        return
    mlflow.log_params(
        {
            "judge.name": catalog.get("classifier").name,
            "judge.hash": card["hash"],
            "judge.test_accuracy": card["test_accuracy"],
            **{f"classifier.{key}": value for key, value in card["settings"].items()},
        }
    )


def git_tags(path: Path) -> dict[str, str]:
    """``git_commit`` and ``git_dirty`` of the repository at ``path``; empty outside git."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=path, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"git_commit": commit, "git_dirty": str(dirty).lower()}
