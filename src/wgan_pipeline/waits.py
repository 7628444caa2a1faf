"""Waits on another process: said within seconds, naming what and whom, and bounded.

A run that waits for a lock another run holds (the catalog's save lock, the MLflow store's
creation lock) says so after ``SAY_AFTER_S`` seconds, with the holder's pid and command where
the system tells them, and gives up after the wait's own bound with a message saying what to do
(a holder paused with Ctrl-Z, or hung, holds its lock for as long as it lives).
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from pathlib import Path

from wgan_pipeline.errors import Refused

logger = logging.getLogger(__name__)

SAY_AFTER_S = 2.0  # a wait longer than this is said
POLL_S = 0.2


class WaitedTooLong(Refused):
    """Another process held what this run needs for longer than the wait's bound."""


def lock_waiting(handle, kind: int, path: Path, what: str, timeout_s: float) -> None:
    """``flock(handle, kind)``, saying after SAY_AFTER_S seconds that the run waits for ``what``
    (``path``, held by whom), and raising WaitedTooLong after ``timeout_s``."""
    try:
        fcntl.flock(handle, kind | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    start, said = time.monotonic(), False
    while True:
        time.sleep(POLL_S)
        try:
            fcntl.flock(handle, kind | fcntl.LOCK_NB)
            if said:
                logger.info("Got %s after %.0f s.", what, time.monotonic() - start)
            return
        except BlockingIOError:
            waited = time.monotonic() - start
        if not said and waited >= SAY_AFTER_S:
            said = True
            logger.warning(
                "Waiting for %s: %s is held by %s; giving up after %.0f s.",
                what, path, holders(path), timeout_s,
            )  # fmt: skip
        if waited >= timeout_s:
            raise WaitedTooLong(
                f"Gave up waiting for {what} after {waited:.0f} s: {path} is held by "
                f"{holders(path)}. If that process is paused (Ctrl-Z: `fg` or `kill -CONT`) or "
                "hung, resume or end it, then run again; nothing of this run was saved over."
            )


def holders(path: Path) -> str:
    """Who holds a lock on ``path``: ``pid 123 (kedro run --env test)``, from /proc/locks
    (Linux); ``another process`` where the system does not say."""
    try:
        inode = path.stat().st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return "another process"
    pids = []
    for line in lines:
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 12345 fd:01:654321 0 EOF" (a waiter's line starts "1: ->")
        if len(fields) >= 6 and fields[1] != "->" and fields[5].rsplit(":", 1)[-1] == str(inode):
            pid = int(fields[4]) if fields[4].isdigit() else None
            if pid and pid != os.getpid() and pid not in pids:
                pids.append(pid)
    if not pids:
        return "another process"
    return ", ".join(f"pid {pid}{_command(pid)}" for pid in pids)


def _command(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return ""
    words = [a.decode(errors="replace") for a in argv if a]
    # `python -m kedro run ...` and `.../bin/kedro run ...` both read as `kedro run ...`
    start = next((i for i, w in enumerate(words) if w == "kedro" or w.endswith("/kedro")), None)
    if start is not None:
        words = ["kedro", *words[start + 1 :]]
    text = " ".join(words)
    return f" ({text[:120]})" if text else ""
