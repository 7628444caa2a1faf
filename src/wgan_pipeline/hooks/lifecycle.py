"""A run's start, stop and death as Kedro sees them (what each does: wgan_pipeline/lifecycle.py)."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

import mlflow
from kedro.framework.hooks import hook_impl

from wgan_pipeline.lifecycle import (
    Stopped,
    close_dead_runs,
    is_stop,
    mark_killed,
    mark_live,
    on_signals,
    run_started_since,
)
from wgan_pipeline.training_run.run_folder import RunFolders

logger = logging.getLogger(__name__)


class RunLifecycleHook:
    """Around kedro-mlflow's hook, which starts the MLflow run and ends it FINISHED or FAILED:

    - start (wrapping kedro-mlflow's ``before_pipeline_run``): SIGINT and SIGTERM raise
      ``Stopped`` in whichever node runs (Kedro hands its error hooks ``Exception`` only: a bare
      KeyboardInterrupt would let MLflow's exit handler close the run FINISHED, SIGTERM's
      default would leave it RUNNING); runs of dead processes are marked KILLED; this run's
      live marker is written. A run someone opened before the session (an orchestrator's) is
      not this session's: it is neither marked nor ended.
    - after each node: a stop a library swallowed (MLflow's model logging catches every
      exception) is raised again.
    - end (``trylast``, after kedro-mlflow ended the run): the finished trainings' checkpoints
      go once every output is saved; after an error they stay, unlocked, for the rerun, and a
      stop turns kedro-mlflow's FAILED into KILLED. The signal handlers and the marker go.
    """

    def __init__(self) -> None:
        self._runs_folder: Path | None = None
        self._run_id: str | None = None
        self._stop: Stopped | None = None
        self._ends = contextlib.ExitStack()  # the signal handlers, the live marker
        self._run_folders: list[RunFolders] = []

    @hook_impl
    def after_context_created(self, context) -> None:
        self._runs_folder = Path(context.project_path) / "data" / ".runs"

    @hook_impl(wrapper=True)
    def before_pipeline_run(self, run_params, pipeline, catalog):
        self._stop, self._run_folders = None, []
        self._ends.enter_context(on_signals(self._stopped))
        before = mlflow.active_run()
        result = yield  # kedro-mlflow starts (or adopts) the run here
        self._run_id = run_started_since(before)
        if self._runs_folder is not None and mlflow.active_run() is not None:
            close_dead_runs(self._runs_folder)
            if self._run_id is not None:
                path, handle = mark_live(self._runs_folder, self._run_id)
                self._ends.callback(handle.close)
                self._ends.callback(path.unlink, missing_ok=True)
        return result

    @hook_impl
    def after_dataset_loaded(self, dataset_name: str, data: Any, node) -> None:
        if isinstance(data, RunFolders):
            self._run_folders.append(data)  # released at the end

    @hook_impl
    def after_node_run(self, node, catalog, inputs, outputs, is_async) -> None:
        if self._stop is not None:
            raise self._stop  # the node (or a library in it) swallowed it

    @hook_impl(trylast=True)
    def after_pipeline_run(self, run_params, pipeline, catalog) -> None:
        for folders in self._run_folders:
            for folder in folders.release(remove=True):
                logger.debug("Outputs saved: checkpoints in %s removed.", folder)
        self._end()

    @hook_impl(trylast=True)
    def on_pipeline_error(self, error, run_params, pipeline, catalog) -> None:
        for folders in self._run_folders:
            folders.release(remove=False)
        if self._run_id is not None and is_stop(error):
            mark_killed(mlflow.MlflowClient(), self._run_id, f"stopped: {error}", if_running=False)
        self._end()

    def _stopped(self, name: str) -> Stopped:
        self._stop = Stopped(
            f"kedro run stopped by {name}; what was saved before stays. Run the same command "
            "again to start over (a killed training resumes from its checkpoint)."
        )
        return self._stop

    def _end(self) -> None:
        self._stop, self._run_id, self._run_folders = None, None, []
        self._ends.close()
