"""kedro-mlflow's hook, taught two things this project needs."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import mlflow
from kedro.framework.hooks import hook_impl
from kedro_mlflow.framework.hooks import MlflowHook
from pydantic import BaseModel


class ProjectMlflowHook(MlflowHook):
    """kedro-mlflow's ``MlflowHook`` that

    - logs parameter groups typed as pydantic models (validated by Kedro before the run) like
      plain dicts, so they are flattened to ``training.clip_value``, ``training.epochs``, ...
      (the plugin only flattens dicts and would log one ``training`` string instead);
    - tags every run with the Kedro environment and the git commit of the project.
    """

    @hook_impl
    def after_context_created(self, context) -> None:
        super().after_context_created(context)
        self._kedro_env = context.env or "local"
        self._project_path = Path(context.project_path)

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog) -> None:
        super().before_pipeline_run(run_params, pipeline, catalog)
        if self._is_mlflow_enabled:
            mlflow.set_tags({"kedro_env": self._kedro_env, **_git_tags(self._project_path)})

    @hook_impl
    def before_node_run(self, node, catalog, inputs: dict[str, Any], is_async: bool) -> None:
        as_dicts = {
            name: value.model_dump() if isinstance(value, BaseModel) else value
            for name, value in inputs.items()
        }
        super().before_node_run(node, catalog, as_dicts, is_async)


def _git_tags(path: Path) -> dict[str, str]:
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
