"""kedro-mlflow's hook, taught what this project needs."""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import mlflow
from kedro.config import MissingConfigException
from kedro.framework.hooks import hook_impl
from kedro_mlflow.config.resolvers import resolve_random_name
from kedro_mlflow.framework.hooks import MlflowHook
from omegaconf import OmegaConf
from pydantic import BaseModel


class ProjectMlflowHook(MlflowHook):
    """kedro-mlflow's ``MlflowHook`` that

    - logs parameter groups typed as pydantic models (validated by Kedro before the run) like
      plain dicts, so they are flattened to ``training.clip_value``, ``training.epochs``, ...
      (the plugin only flattens dicts and would log one ``training`` string instead);
    - tags every run with the Kedro environment and the git commit of the project;
    - refuses, within seconds and before any node runs, a tracking server that does not answer
      (MLflow itself would retry for minutes and then fail with a stack of HTTP errors);
    - closes the run as KILLED, not FAILED, when training was stopped by SIGINT/SIGTERM.
    """

    @hook_impl
    def after_context_created(self, context) -> None:
        # Before the plugin's set-up, whose first request to a dead server retries for minutes.
        # mlflow.yml uses the plugin's ${km.random_name:}, which the plugin registers there.
        if not OmegaConf.has_resolver("km.random_name"):
            OmegaConf.register_new_resolver("km.random_name", resolve_random_name, use_cache=True)
        try:
            server = context.config_loader["mlflow"].get("server") or {}
        except MissingConfigException:  # no mlflow.yml: the plugin's local default
            server = {}
        check_tracking_server(str(server.get("mlflow_tracking_uri") or ""))
        super().after_context_created(context)
        self._kedro_env = context.env or "local"
        self._project_path = Path(context.project_path)

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog) -> None:
        super().before_pipeline_run(run_params, pipeline, catalog)
        if self._is_mlflow_enabled:
            mlflow.set_tags({"kedro_env": self._kedro_env, **_git_tags(self._project_path)})

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params, pipeline, catalog) -> None:
        # A stop someone asked for (SIGINT/SIGTERM; a checkpoint was written) is KILLED, not
        # FAILED as the plugin would mark it.
        if self._is_mlflow_enabled and _is_interruption(error) and mlflow.active_run():
            while mlflow.active_run():  # the plugin may have stacked the run more than once
                mlflow.end_run("KILLED")
            return
        super().on_pipeline_error(error, run_params, pipeline, catalog)

    @hook_impl
    def before_node_run(self, node, catalog, inputs: dict[str, Any], is_async: bool) -> None:
        as_dicts = {
            name: value.model_dump() if isinstance(value, BaseModel) else value
            for name, value in inputs.items()
        }
        super().before_node_run(node, catalog, as_dicts, is_async)


class TrackingServerUnreachableError(RuntimeError):
    """The MLflow tracking server configured in mlflow.yml does not answer."""


def check_tracking_server(uri: str, timeout: float = 5.0) -> None:
    """For an http(s) tracking URI, ask the server's /health; raise a clear error if it does not
    answer. Local stores (sqlite, files) need no check."""
    if not uri.startswith(("http://", "https://")):
        return
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout):
            return
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
    raise TrackingServerUnreachableError(
        f"The MLflow tracking server {uri} does not answer ({reason}); nothing was run. Start "
        f"it (mlflow server --host ... --port ...), or set server.mlflow_tracking_uri in "
        f"conf/<env>/mlflow.yml to a local store such as sqlite:///${{project_root:}}/mlflow.db."
    )


def _is_interruption(error: BaseException | None) -> bool:
    """Whether ``error`` (or what it wraps) is the training's clean stop on SIGINT/SIGTERM."""
    while error is not None:
        if type(error).__name__ == "TrainingInterrupted":
            return True
        error = error.__cause__ or error.__context__
    return False


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
