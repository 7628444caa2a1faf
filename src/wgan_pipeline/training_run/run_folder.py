"""A run folder per training process, so runs started together never touch each other's
checkpoints.

Each training process works in its own folder ``run-<id>`` of the checkpoint directory, locked
(``flock``) while it lives; a new run takes over the newest folder whose process is gone
(killed, failed) and whose checkpoint was written with its settings, to resume it. A dead run's
checkpoint of other settings is never touched: the command that wrote it resumes it later (the
log names it at each run; delete its folder to drop it).

A training that finishes keeps its folder, final checkpoint and lock until the pipeline's
outputs are saved: ``RunFolders.release`` (the run's lifecycle hook, after the run) removes
them then. A kill while the outputs are saved leaves the final checkpoint, so the same command
hands the trained networks on again instead of training from zero.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .checkpoints import latest, why_incompatible

logger = logging.getLogger(__name__)


class RunFolders:
    """The run folders of one checkpoint directory (``root``) and which of them this process
    holds. The catalog's ``training_checkpoints`` loads as one; the run's lifecycle hook
    releases what it holds once the run's outputs are saved or it failed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._finished: list[tuple[Path, Any]] = []  # trainings that finished, still locked

    @contextlib.contextmanager
    def claim(self, identity: dict[str, Any]) -> Iterator[Path]:
        """A run folder locked for this process: the newest one left by a dead process with a
        checkpoint of ``identity`` (to resume from) or a new one. Dead runs' folders of other
        settings are left as they are. On leaving without an error, kept (locked) for
        ``release``; after an error, unlocked with its checkpoints for a rerun to resume.
        Removed either way if it holds no checkpoint."""
        self.root.mkdir(parents=True, exist_ok=True)
        folder, lock = None, None
        for candidate in sorted(self.root.glob("run-*"), key=_newest_checkpoint, reverse=True):
            handle = _try_lock(candidate)
            if handle is None:
                continue  # a live run's
            found = latest(candidate)
            other = why_incompatible(found, identity) if found is not None else None
            if other:
                logger.warning(
                    "Not resuming checkpoint %s: it was written with other settings (%s). It "
                    "is kept: the command that wrote it resumes it (delete %s to drop it).",
                    found, other, candidate,
                )  # fmt: skip
                handle.close()
                continue
            if found is not None and folder is None:
                folder, lock = candidate, handle  # the newest dead run's checkpoint: resumed
                continue
            handle.close()
            # An older dead run's of these settings, or one with no checkpoint: removed, unless
            # it holds checkpoints set aside as unreadable (kept, to look at).
            if found is None and _set_aside(candidate):
                continue
            shutil.rmtree(candidate, ignore_errors=True)
        if folder is None:
            folder = self.root / f"run-{time.time_ns()}-{os.getpid()}"
            folder.mkdir()
            lock = _try_lock(folder)
        try:
            yield folder
        except BaseException:
            if latest(folder) is None:
                shutil.rmtree(folder, ignore_errors=True)
            lock.close()
            raise
        self._finished.append((folder, lock))

    def release(self, remove: bool) -> list[Path]:
        """The finished trainings' folders: removed with their checkpoints when ``remove``
        (every output saved; checkpoints set aside as ``broken-*`` stay), else only unlocked (a
        rerun resumes the final state). Returns the folders emptied."""
        removed = []
        while self._finished:
            folder, lock = self._finished.pop()
            if remove:
                kept = _set_aside(folder)  # kept, to look at
                for path in folder.iterdir() if kept else [folder]:
                    if path in kept:
                        continue
                    if path.is_dir():
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        path.unlink(missing_ok=True)
                removed.append(folder)
            lock.close()
        return removed


def _try_lock(folder: Path):
    handle = (folder / ".lock").open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _set_aside(folder: Path) -> list[Path]:
    """Checkpoints set aside in ``folder`` as unreadable (checkpoints.set_aside)."""
    return list(folder.glob("broken-*"))


def _newest_checkpoint(folder: Path) -> str:
    found = latest(folder)
    return found.name if found else ""
