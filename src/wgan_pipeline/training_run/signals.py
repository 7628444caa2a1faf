"""A clean stop on SIGINT / SIGTERM: whatever ``on_stop`` does (write a checkpoint), then
TrainingInterrupted, which the project's hook records as a KILLED MLflow run; the process exits
non-zero and the same command resumes."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

from wgan_pipeline.gan.errors import TrainingInterrupted


@contextlib.contextmanager
def stop_cleanly_on_signals(on_stop: Callable[[str], str]) -> Iterator[None]:
    """Inside, SIGINT and SIGTERM (and Ctrl-C's KeyboardInterrupt) call ``on_stop(signal name)``
    and raise ``TrainingInterrupted`` with the message it returns."""

    def interrupt(signum, frame):
        raise TrainingInterrupted(signal.Signals(signum).name)

    # Python delivers signals to the main thread only (other runners: Ctrl-C as Kedro handles it)
    in_main = threading.current_thread() is threading.main_thread()
    signals = (signal.SIGINT, signal.SIGTERM) if in_main else ()
    previous = {sig: signal.signal(sig, interrupt) for sig in signals}
    try:
        yield
    except (TrainingInterrupted, KeyboardInterrupt) as exc:
        if in_main:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # no second interrupt while saving
        raise TrainingInterrupted(on_stop(str(exc) or "SIGINT")) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
