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
