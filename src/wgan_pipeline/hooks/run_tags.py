"""Record on each MLflow run what kedro-mlflow leaves out: the Kedro env, the data set, the git
commit, the devices it computes on, and the judge that produced its numbers."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import mlflow
from kedro.framework.hooks import hook_impl


class RunTagsHook:
    """After kedro-mlflow started the run (``trylast``): tags ``kedro_env``, ``dataset``,
    ``git_commit``, ``git_dirty`` and ``devices`` on it, so runs can be compared by
    configuration, data, code and hardware; and the judge's identity as parameters
    (``judge.name``, ``judge.hash``, ``judge.test_accuracy`` and the ``classifier.*`` settings
    it was trained with, from its card), whether the run trains it or loads the saved one, so
    the compare page shows which FIDs compare. The devices are logged before any node, with
    the install line where a GPU is there but the backend does not see it."""

    @hook_impl(trylast=True)
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog) -> None:
        from wgan_pipeline.training_run.devices import report_devices  # noqa: PLC0415 (Keras)

        self._catalog = catalog
        devices = report_devices()
        if mlflow.active_run() is None:  # tracking switched off for this pipeline
            return
        if "classifier" in pipeline.inputs():
            log_judge(catalog)
        tags = {"kedro_env": run_params.get("env") or "local", "devices": devices}
        data = catalog.load("params:data") if catalog.exists("params:data") else {}
        dataset = data.get("dataset") if isinstance(data, dict) else getattr(data, "dataset", None)
        if dataset:
            tags["dataset"] = dataset
        mlflow.set_tags({**tags, **git_tags(Path(run_params["project_path"]))})

    @hook_impl
    def after_dataset_saved(self, dataset_name: str) -> None:
        if dataset_name == "judge_card" and mlflow.active_run() is not None:
            log_judge(self._catalog)  # the card saved: another run's if it saved one first


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
