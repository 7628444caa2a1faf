"""Tag each MLflow run with what kedro-mlflow leaves out: the Kedro env, the data set and the git
commit."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import mlflow
from kedro.framework.hooks import hook_impl


class RunTagsHook:
    """After kedro-mlflow started the run (``trylast``): tags ``kedro_env``, ``dataset``,
    ``git_commit`` and ``git_dirty`` on it, so runs can be compared by configuration, data and
    code."""

    @hook_impl(trylast=True)
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog) -> None:
        if mlflow.active_run() is None:  # tracking switched off for this pipeline
            return
        tags = {"kedro_env": run_params.get("env") or "local"}
        data = catalog.load("params:data") if catalog.exists("params:data") else {}
        dataset = data.get("dataset") if isinstance(data, dict) else getattr(data, "dataset", None)
        if dataset:
            tags["dataset"] = dataset
        mlflow.set_tags({**tags, **git_tags(Path(run_params["project_path"]))})


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
