"""Writes that survive a power cut: what the model and checkpoint files share."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def fsync(path: Path) -> None:
    """Flush ``path`` (a file, or a folder: its entries, such as a rename) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """``write(partial)`` beside ``path``, flush it, then rename it into place: a kill or a full
    disk mid-write leaves no partial file where a load would find it (OSError is raised, and
    the partial file is gone)."""
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}{path.suffix}")
    try:
        write(partial)
        fsync(partial)
        partial.replace(path)
        fsync(path.parent)
    finally:
        partial.unlink(missing_ok=True)
