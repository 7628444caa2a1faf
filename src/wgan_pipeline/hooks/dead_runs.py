"""An MLflow run whose process was killed (SIGKILL, a power cut) is marked KILLED by the next
`kedro run` in the project, whatever node it died in."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from pathlib import Path
from typing import Any

import mlflow
from kedro.framework.hooks import hook_impl

from .interruption import run_started_since

logger = logging.getLogger(__name__)


class DeadRunsHook:
    """While this session's MLflow run is open, a marker file ``data/.runs/<run id>.json``
    (its run id and tracking URI) stays locked (``flock``) by this process. A SIGKILL leaves
    the marker unlocked and the run RUNNING for ever: every later `kedro run` in the project
    marks such runs KILLED before its own run starts, and removes their markers. Runs that
    someone opened before the session (an orchestrator's) are not marked: they are not ours."""

    def __init__(self) -> None:
        self._folder: Path | None = None
        self._marker: tuple[Path, Any] | None = None

    @hook_impl
    def after_context_created(self, context) -> None:
        self._folder = Path(context.project_path) / "data" / ".runs"

    @hook_impl(wrapper=True)
    def before_pipeline_run(self, run_params, pipeline, catalog):
        before = mlflow.active_run()
        result = yield  # kedro-mlflow starts (or adopts) the run here
        if self._folder is not None and mlflow.active_run() is not None:
            close_dead_runs(self._folder)
            if (run_id := run_started_since(before)) is not None:
                self._marker = mark_live(self._folder, run_id)
        return result

    @hook_impl(trylast=True)  # after kedro-mlflow ended the run
    def after_pipeline_run(self, run_params, pipeline, catalog) -> None:
        self._unmark()

    @hook_impl(trylast=True)
    def on_pipeline_error(self, error, run_params, pipeline, catalog) -> None:
        self._unmark()

    def _unmark(self) -> None:
        if self._marker is not None:
            path, handle = self._marker
            path.unlink(missing_ok=True)
            handle.close()
            self._marker = None


def mark_live(folder: Path, run_id: str) -> tuple[Path, Any]:
    """Write and lock the marker of ``run_id``; the lock lasts while the handle is open."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id}.json"
    partial = folder / f".{run_id}.partial"  # locked before it has its name: never taken as dead
    handle = partial.open("w")
    fcntl.flock(handle, fcntl.LOCK_EX)
    json.dump({"run_id": run_id, "tracking_uri": mlflow.get_tracking_uri(), "pid": os.getpid()},
              handle)  # fmt: skip
    handle.flush()
    partial.rename(path)
    return path, handle


def close_dead_runs(folder: Path) -> list[str]:
    """Mark KILLED the RUNNING runs whose markers no live process holds; the run ids."""
    closed = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        with path.open() as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its process lives
            with contextlib.suppress(ValueError, KeyError, mlflow.exceptions.MlflowException):
                marker = json.loads(handle.read())
                client = mlflow.MlflowClient(tracking_uri=marker["tracking_uri"])
                if client.get_run(marker["run_id"]).info.status == "RUNNING":
                    client.set_terminated(marker["run_id"], "KILLED")
                    logger.warning(
                        "MLflow run %s was left RUNNING by a process that died (pid %s): "
                        "marked KILLED.",
                        marker["run_id"],
                        marker.get("pid"),
                    )
                    closed.append(marker["run_id"])
            path.unlink(missing_ok=True)
    return closed
