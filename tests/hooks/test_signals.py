"""RunLifecycleHook: while the pipeline runs, SIGTERM and SIGINT raise Stopped."""

import os
import signal

import pytest
from kedro.framework.hooks.manager import _create_hook_manager

from wgan_pipeline.hooks import RunLifecycleHook
from wgan_pipeline.lifecycle import Stopped

ARGS = {"run_params": {}, "pipeline": None, "catalog": None}


def started():
    manager = _create_hook_manager()
    manager.register(RunLifecycleHook())
    manager.hook.before_pipeline_run(**ARGS)
    return manager


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_the_run_raises_stopped_and_handlers_come_back(sig):
    before = signal.getsignal(sig)
    manager = started()
    with pytest.raises(Stopped, match=f"kedro run stopped by {sig.name}"):
        os.kill(os.getpid(), sig)
        signal.sigtimedwait([], 0.1)  # let the handler run here
    manager.hook.on_pipeline_error(error=None, **ARGS)
    assert signal.getsignal(sig) == before


def test_a_stop_a_node_swallowed_is_raised_again_when_the_node_ends():
    """MLflow's model logging catches every exception: the stop must not end there."""
    node_args = {"node": None, "catalog": None, "inputs": {}, "outputs": {}, "is_async": False}
    manager = started()
    try:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            signal.sigtimedwait([], 0.1)
        except Exception:  # noqa: BLE001 (what such a library does)
            pass
        with pytest.raises(Stopped, match="kedro run stopped by SIGTERM"):
            manager.hook.after_node_run(**node_args)
    finally:
        manager.hook.on_pipeline_error(error=None, **ARGS)
    manager.hook.before_pipeline_run(**ARGS)
    manager.hook.after_node_run(**node_args)  # a new run starts with no stop pending
    manager.hook.after_pipeline_run(run_result={}, **ARGS)
