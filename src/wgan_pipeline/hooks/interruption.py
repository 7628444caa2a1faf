"""A run stopped on purpose (SIGINT/SIGTERM) ends KILLED, not FAILED, and says so."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import mlflow
from kedro.framework.hooks import hook_impl
from mlflow.entities import RunStatus

from wgan_pipeline.gan.errors import Interrupted

logger = logging.getLogger(__name__)


class StopOnSignalHook:
    """While the pipeline runs, SIGINT (Ctrl-C) and SIGTERM raise ``Interrupted`` in whichever
    node runs, so Kedro's error hooks see the stop (Kedro passes them ``Exception`` only: a bare
    KeyboardInterrupt would let MLflow's exit handler close the run as FINISHED, and SIGTERM's
    default would end the process with the run left RUNNING). Training installs its own handler
    inside, which writes a checkpoint first (training_run/signals.py).

    The stop is also remembered and raised again when the node ends: a library that catches
    every exception (MLflow's model logging does) cannot swallow it and let the run go on."""

    def __init__(self) -> None:
        self._previous: dict[int, Any] = {}
        self._stop: Interrupted | None = None

    @hook_impl
    def before_pipeline_run(self, run_params, pipeline, catalog) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # Python delivers signals to the main thread only

        def interrupt(signum, frame):
            name = signal.Signals(signum).name
            self._stop = Interrupted(
                f"kedro run stopped by {name}; what was saved before stays. Run the same "
                "command again to start over (a killed training resumes from its checkpoint)."
            )
            raise self._stop

        self._stop = None
        self._previous = {
            sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)
        }

    @hook_impl
    def after_node_run(self, node, catalog, inputs, outputs, is_async) -> None:
        if self._stop is not None:
            raise self._stop  # the node (or a library in it) swallowed it

    @hook_impl
    def after_pipeline_run(self, run_params, pipeline, catalog) -> None:
        self._restore()

    @hook_impl
    def on_pipeline_error(self, error, run_params, pipeline, catalog) -> None:
        self._restore()

    def _restore(self) -> None:
        self._stop = None
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}


class KilledOnInterruptionHook:
    """Marks the MLflow run this ``kedro run`` started as KILLED when it was stopped by a
    signal. kedro-mlflow ends every failed run as FAILED; this runs after it (``trylast``) and
    sets the status of that one run. A run someone opened before the session (an orchestrator's)
    is not this session's: it is left as it is."""

    def __init__(self) -> None:
        self.run_id: str | None = None

    @hook_impl(wrapper=True)
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog):
        before = mlflow.active_run()
        result = yield  # kedro-mlflow starts (or adopts) the run here
        self.run_id = run_started_since(before)
        return result

    @hook_impl(trylast=True)
    def on_pipeline_error(self, error: Exception, run_params, pipeline, catalog) -> None:
        if self.run_id is not None and is_interruption(error):
            mlflow.MlflowClient().set_terminated(self.run_id, RunStatus.to_string(RunStatus.KILLED))
            logger.warning("MLflow run %s ended as KILLED: %s", self.run_id, error)


def run_started_since(before) -> str | None:
    """The id of the active MLflow run if it is not ``before`` (the run active before the
    session: an orchestrator's), else None."""
    after = mlflow.active_run()
    if after is None or (before is not None and before.info.run_id == after.info.run_id):
        return None
    return after.info.run_id


def is_interruption(error: BaseException | None) -> bool:
    """Whether ``error``, or what it wraps, is a stop on SIGINT/SIGTERM."""
    while error is not None:
        if isinstance(error, Interrupted):
            return True
        error = error.__cause__ or error.__context__
    return False
