"""kedro-mlflow's hook, taught what this project needs."""

from __future__ import annotations

import contextlib
import fcntl
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
    - creates a new sqlite store under a lock, so runs started together do not both migrate it;
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
        uri = str(server.get("mlflow_tracking_uri") or "")
        check_tracking_server(uri)
        # The plugin's set-up creates (migrates) a new sqlite store: two runs started at once
        # would migrate it together and one would fail, so they take turns.
        with _file_lock(
            Path(uri.removeprefix("sqlite:///") + ".lock"), uri.startswith("sqlite:///")
        ):
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


@contextlib.contextmanager
def _file_lock(path: Path, active: bool = True):
    """An exclusive ``flock`` on ``path`` (created if missing) while inside; a no-op if not
    ``active``."""
    if not active:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _is_interruption(error: BaseException | None) -> bool:
    """Whether ``error`` (or what it wraps) is the training's clean stop on SIGINT/SIGTERM
    (matched by name: importing the training module here would load TensorFlow in every hook)."""
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


class SerialSavesHook:
    """Catalog saves of `kedro run`s running at once in one project never interleave: each save
    (a file, and for MLflow artifact datasets its upload to the run) holds an exclusive lock on
    ``data/.save.lock``. Models are versioned, so concurrent runs keep both; the unversioned
    outputs are whole files, the last run's."""

    _lock = None

    @hook_impl
    def after_context_created(self, context) -> None:
        self._path = Path(context.project_path) / "data" / ".save.lock"

    @hook_impl
    def before_dataset_saved(self, dataset_name: str, data: Any, node) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = self._path.open("a")
        fcntl.flock(self._lock, fcntl.LOCK_EX)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node) -> None:
        self._release()

    @hook_impl
    def on_pipeline_error(self, error, run_params, pipeline, catalog) -> None:
        self._release()  # a save that raised

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing drops the lock
            self._lock = None
