"""RunLifecycleHook: the run this session started ends KILLED after a signal."""

import mlflow
from kedro.framework.hooks import hook_impl
from kedro.framework.hooks.manager import _create_hook_manager

from wgan_pipeline.hooks import RunLifecycleHook
from wgan_pipeline.lifecycle import Stopped


class StartsAndFailsRuns:
    """What kedro-mlflow does around a run: start one (unless one is active), end it FAILED on
    an error."""

    @hook_impl
    def before_pipeline_run(self, run_params, pipeline, catalog):
        if mlflow.active_run() is None:
            mlflow.start_run()

    @hook_impl
    def on_pipeline_error(self, error, run_params, pipeline, catalog):
        while mlflow.active_run():
            mlflow.end_run("FAILED")


def session(error):
    """A pipeline run through Kedro's hook manager that fails with ``error``; the hook's run."""
    manager = _create_hook_manager()
    manager.register(StartsAndFailsRuns())
    manager.register(RunLifecycleHook())
    args = {"run_params": {}, "pipeline": None, "catalog": None}
    manager.hook.before_pipeline_run(**args)
    run_id = mlflow.active_run().info.run_id
    manager.hook.on_pipeline_error(error=error, **args)
    return run_id


def status(run_id: str) -> str:
    return mlflow.MlflowClient().get_run(run_id).info.status


def test_a_stop_on_a_signal_ends_the_run_killed(tracking_uri):
    try:
        raise RuntimeError("node failed") from Stopped("SIGTERM")
    except RuntimeError as error:  # Kedro wraps the node's error: the cause counts
        run_id = session(error)
    assert status(run_id) == "KILLED"


def test_any_other_error_stays_failed(tracking_uri):
    run_id = session(ValueError("bad input"))
    assert status(run_id) == "FAILED"


def test_a_run_opened_before_the_session_is_left_alone(tracking_uri):
    outer = mlflow.start_run().info.run_id  # an orchestrator's
    manager = _create_hook_manager()
    manager.register(RunLifecycleHook())
    args = {"run_params": {}, "pipeline": None, "catalog": None}
    manager.hook.before_pipeline_run(**args)
    manager.hook.on_pipeline_error(error=Stopped("SIGINT"), **args)
    assert status(outer) == "RUNNING"
