"""Catalog saves and loads of concurrent `kedro run`s in one project never interleave."""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

from wgan_pipeline.waits import lock_waiting

# How long a save or load waits for another run's (a model's logging takes seconds; a run paused
# with Ctrl-Z in a save holds the lock until it goes on): said after 2 s, refused after this.
LOCK_TIMEOUT_S = 600


class SerialSavesHook:
    """Each catalog save (a file, and for MLflow artifact datasets its upload to the run) holds
    an exclusive lock on ``data/.save.lock`` and each load a shared one, so a run never reads a
    file another run is halfway through writing. Models are versioned, so concurrent runs keep
    both (and each run loads the version it saved: KerasModelDataset); the unversioned outputs
    are whole files, the last run's, and what a run reads back of its own outputs comes from
    memory (the catalog's CachedDataset entries), never from another run's file."""

    _lock = None

    @hook_impl
    def after_context_created(self, context) -> None:
        self._path = Path(context.project_path) / "data" / ".save.lock"

    @hook_impl
    def before_dataset_saved(self, dataset_name: str, data: Any, node) -> None:
        self._acquire(fcntl.LOCK_EX)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node) -> None:
        self._release()

    @hook_impl
    def before_dataset_loaded(self, dataset_name: str, node) -> None:
        self._acquire(fcntl.LOCK_SH)

    @hook_impl
    def after_dataset_loaded(self, dataset_name: str, data: Any, node) -> None:
        self._release()

    @hook_impl
    def on_pipeline_error(self, error, run_params, pipeline, catalog) -> None:
        self._release()  # a save or load that raised

    def _acquire(self, kind: int) -> None:
        self._release()
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = self._path.open("a")
        what = "another run's save to finish" if kind == fcntl.LOCK_SH else "the save lock"
        lock_waiting(self._lock, kind, self._path, what, LOCK_TIMEOUT_S)

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing drops the lock
            self._lock = None
