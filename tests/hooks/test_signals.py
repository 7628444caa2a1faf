"""StopOnSignalHook: while the pipeline runs, SIGTERM and SIGINT raise Interrupted."""

import os
import signal

import pytest

from wgan_pipeline.gan.errors import Interrupted
from wgan_pipeline.hooks import StopOnSignalHook


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_the_run_raises_interrupted_and_handlers_come_back(sig):
    before = signal.getsignal(sig)
    hook = StopOnSignalHook()
    hook.before_pipeline_run({}, None, None)
    with pytest.raises(Interrupted, match=f"kedro run stopped by {sig.name}"):
        os.kill(os.getpid(), sig)
        signal.sigtimedwait([], 0.1)  # let the handler run here
    hook.on_pipeline_error(None, {}, None, None)
    assert signal.getsignal(sig) == before


def test_a_stop_a_node_swallowed_is_raised_again_when_the_node_ends():
    """MLflow's model logging catches every exception: the stop must not end there."""
    hook = StopOnSignalHook()
    hook.before_pipeline_run({}, None, None)
    try:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            signal.sigtimedwait([], 0.1)
        except Exception:  # noqa: BLE001 (what such a library does)
            pass
        with pytest.raises(Interrupted, match="kedro run stopped by SIGTERM"):
            hook.after_node_run(None, None, {}, {}, False)
    finally:
        hook.on_pipeline_error(None, {}, None, None)
    hook.before_pipeline_run({}, None, None)
    hook.after_node_run(None, None, {}, {}, False)  # a new run starts with no stop pending
    hook.after_pipeline_run({}, None, None)
