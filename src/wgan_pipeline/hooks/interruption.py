"""A run stopped on purpose (SIGINT/SIGTERM, a checkpoint written) ends KILLED, not FAILED."""

from __future__ import annotations

from typing import Any

import mlflow
from kedro.framework.hooks import hook_impl
from mlflow.entities import RunStatus

from wgan_pipeline.gan.errors import TrainingInterrupted


class KilledOnInterruptionHook:
    """Marks the MLflow run this ``kedro run`` started as KILLED when training was stopped by a
    signal. kedro-mlflow ends every failed run as FAILED; this runs after it (``trylast``) and
    sets the status of that one run. A run someone opened before the session (an orchestrator's)
    is not this session's: it is left as it is."""

    def __init__(self) -> None:
        self.run_id: str | None = None

    @hook_impl(wrapper=True)
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog):
        before = mlflow.active_run()
        result = yield  # kedro-mlflow starts (or adopts) the run here
        after = mlflow.active_run()
        started_here = after is not None and (
            before is None or before.info.run_id != after.info.run_id
        )
        self.run_id = after.info.run_id if started_here else None
        return result

    @hook_impl(trylast=True)
    def on_pipeline_error(self, error: Exception, run_params, pipeline, catalog) -> None:
        if self.run_id is not None and is_interruption(error):
            mlflow.MlflowClient().set_terminated(self.run_id, RunStatus.to_string(RunStatus.KILLED))


def is_interruption(error: BaseException | None) -> bool:
    """Whether ``error``, or what it wraps, is training's clean stop on SIGINT/SIGTERM."""
    while error is not None:
        if isinstance(error, TrainingInterrupted):
            return True
        error = error.__cause__ or error.__context__
    return False
