"""Catalog saves of concurrent `kedro run`s take turns."""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl


class SerialSavesHook:
    """Catalog saves of `kedro run`s running at once in one project never interleave: each save
    (a file, and for MLflow artifact datasets its upload to the run) holds an exclusive lock on
    ``data/.save.lock``. Models are versioned, so concurrent runs keep both; the unversioned
    outputs are whole files, the last run's."""

    _lock = None

    @hook_impl
    def after_context_created(self, context) -> None:
        self._path = Path(context.project_path) / "data" / ".save.lock"

    @hook_impl
    def before_dataset_saved(self, dataset_name: str, data: Any, node) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = self._path.open("a")
        fcntl.flock(self._lock, fcntl.LOCK_EX)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node) -> None:
        self._release()

    @hook_impl
    def on_pipeline_error(self, error, run_params, pipeline, catalog) -> None:
        self._release()  # a save that raised

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing drops the lock
            self._lock = None
