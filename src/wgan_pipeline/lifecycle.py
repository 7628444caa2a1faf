"""What happens to a run when it is stopped or dies: the one module to open to change what a
kill does.

- A stop on purpose (SIGINT, Ctrl-C, SIGTERM) raises ``Stopped`` wherever the run is: the
  handlers are installed only by ``on_signals`` (the pipeline's hook, the trainer, the sweep
  driver). Training first writes a checkpoint (``stop_cleanly``); the MLflow run ends KILLED,
  the process exits non-zero, and the same command resumes.
- A kill no process survives (SIGKILL, a power cut) cannot close its MLflow run: while a run is
  open its process holds a locked marker (``mark_live``), and the next run closes the runs
  whose markers nobody holds (``close_dead_runs``).
- ``mark_killed`` is the one place an MLflow run is marked KILLED.

hooks/lifecycle.py ties this to Kedro's run; training_run/run_folder.py keeps a killed
training's checkpoints for the rerun.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import mlflow

logger = logging.getLogger(__name__)
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(RuntimeError):
    """SIGINT or SIGTERM: someone stopped the run on purpose."""


@contextlib.contextmanager
def on_signals(error: Callable[[str], BaseException]) -> Iterator[None]:
    """Inside, SIGINT and SIGTERM raise ``error(<signal name>)``; the previous handlers come
    back on leaving. Python delivers signals to the main thread only: elsewhere (a threaded
    runner) nothing is installed and Ctrl-C stays Kedro's."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise error(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, earlier in previous.items():
            signal.signal(sig, earlier)


@contextlib.contextmanager
def stop_cleanly(on_stop: Callable[[str], str]) -> Iterator[None]:
    """Inside, a signal (or Ctrl-C's KeyboardInterrupt) calls ``on_stop(<signal name>)``, which
    writes a checkpoint, with a second Ctrl-C ignored meanwhile, then raises ``Stopped`` with
    the message it returns."""
    with on_signals(Stopped):
        try:
            yield
        except (Stopped, KeyboardInterrupt) as exc:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # until on_signals restores it
            raise Stopped(on_stop(str(exc) or "SIGINT")) from None


def is_stop(error: BaseException | None) -> bool:
    """Whether ``error``, or what it wraps (Kedro wraps a node's error), is a ``Stopped``."""
    while error is not None:
        if isinstance(error, Stopped):
            return True
        error = error.__cause__ or error.__context__
    return False


def mark_killed(client: mlflow.MlflowClient, run_id: str, why: str, *, if_running: bool) -> bool:
    """End ``run_id`` as KILLED (only if still RUNNING where ``if_running``) and log ``why``.
    False where it was not (another status; a run of another store)."""
    try:
        if if_running and client.get_run(run_id).info.status != "RUNNING":
            return False
        client.set_terminated(run_id, "KILLED")
    except mlflow.exceptions.MlflowException:
        return False
    logger.warning("MLflow run %s %s: marked KILLED.", run_id, why)
    return True


def run_started_since(before) -> str | None:
    """The id of the active MLflow run if it is not ``before`` (the run active before the
    session: an orchestrator's, never ours to close), else None."""
    after = mlflow.active_run()
    if after is None or (before is not None and before.info.run_id == after.info.run_id):
        return None
    return after.info.run_id


def mark_live(folder: Path, run_id: str) -> tuple[Path, Any]:
    """Write and lock ``<folder>/<run id>.json`` (the run id, tracking URI and pid); the lock
    lasts while the returned handle is open, that is while this process lives."""
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


def answers(tracking_uri: str, timeout_s: float = 3.0) -> bool:
    """Whether a tracking store can be reached now: an http(s) server accepts a connection
    within ``timeout_s`` (MLflow's client would retry a dead one for minutes); a local store
    always can."""
    url = urllib.parse.urlsplit(tracking_uri)
    if url.scheme not in ("http", "https"):
        return True
    try:
        socket.create_connection(
            (url.hostname, url.port or (443 if url.scheme == "https" else 80)), timeout=timeout_s
        ).close()
    except OSError:
        return False
    return True


def close_dead_runs(folder: Path) -> list[str]:
    """Mark KILLED the RUNNING runs whose markers no live process holds; their run ids."""
    closed = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        with path.open() as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its process lives
            with contextlib.suppress(ValueError, KeyError):
                marker = json.loads(handle.read())
                if not answers(marker["tracking_uri"]):
                    logger.warning(
                        "The run %s of a process that died (pid %s) was tracked to %s, which "
                        "does not answer: it is left RUNNING there, its marker %s kept for a "
                        "later run to close once the server is back.",
                        marker["run_id"], marker.get("pid"), marker["tracking_uri"], path,
                    )  # fmt: skip
                    continue
                client = mlflow.MlflowClient(tracking_uri=marker["tracking_uri"])
                why = f"was left RUNNING by a process that died (pid {marker.get('pid')})"
                if mark_killed(client, marker["run_id"], why, if_running=True):
                    closed.append(marker["run_id"])
            path.unlink(missing_ok=True)
    return closed
