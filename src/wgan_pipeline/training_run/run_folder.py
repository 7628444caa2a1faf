"""A run folder per training process, so runs started together never touch each other's
checkpoints.

Each training process works in its own folder ``run-<id>`` of the checkpoint directory, locked
(``flock``) while it lives; a new run takes over the newest folder whose process is gone
(killed), to resume its checkpoints.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from .checkpoints import latest


@contextlib.contextmanager
def claim(root: Path) -> Iterator[Path]:
    """A run folder under ``root`` locked for this process: the newest one left by a dead
    process (to resume from) or a new one. Removed on leaving if it holds no checkpoint."""
    root.mkdir(parents=True, exist_ok=True)
    folder, lock = None, None
    for candidate in sorted(root.glob("run-*"), key=_newest_checkpoint, reverse=True):
        handle = _try_lock(candidate)
        if handle is None:
            continue  # a live run's
        if folder is None and latest(candidate) is not None:
            folder, lock = candidate, handle  # a dead run's checkpoints: resume them
        else:
            handle.close()  # empty or older leftovers of dead runs
            shutil.rmtree(candidate, ignore_errors=True)
    if folder is None:
        folder = root / f"run-{time.time_ns()}-{os.getpid()}"
        folder.mkdir()
        lock = _try_lock(folder)
    try:
        yield folder
    finally:
        if latest(folder) is None:
            shutil.rmtree(folder, ignore_errors=True)
        lock.close()


def _try_lock(folder: Path):
    handle = (folder / ".lock").open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _newest_checkpoint(folder: Path) -> str:
    found = latest(folder)
    return found.name if found else ""
