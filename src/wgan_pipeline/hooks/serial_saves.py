"""Catalog saves of concurrent `kedro run`s take turns, and a run reads back only its own."""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

from .output_paths import catalog_paths

logger = logging.getLogger(__name__)


class SerialSavesHook:
    """Catalog saves of `kedro run`s running at once in one project never interleave: each save
    (a file, and for MLflow artifact datasets its upload to the run) holds an exclusive lock on
    ``data/.save.lock``. Models are versioned, so concurrent runs keep both (and each run loads
    the version it saved: KerasModelDataset); the unversioned outputs are whole files, the last
    run's. A run that reads one of those back (judge_history.csv, generated_samples.npy, ...)
    after another run overwrote it gets what it saved itself, kept in memory, not the other's."""

    _lock = None
    _conf_catalog: dict[str, Any] = {}  # noqa: RUF012 (replaced per run, never mutated)

    @hook_impl
    def after_context_created(self, context) -> None:
        self._path = Path(context.project_path) / "data" / ".save.lock"

    @hook_impl
    def after_catalog_created(self, conf_catalog: dict[str, Any]) -> None:
        self._conf_catalog = conf_catalog

    @hook_impl
    def before_pipeline_run(self, run_params, pipeline, catalog) -> None:
        self._read_back = {name for node in pipeline.nodes for name in node.inputs}
        self._saved: dict[str, tuple[list, Any]] = {}  # name -> (its files' stamps, the data)

    @hook_impl
    def before_dataset_saved(self, dataset_name: str, data: Any, node) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = self._path.open("a")
        fcntl.flock(self._lock, fcntl.LOCK_EX)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node) -> None:
        files = self._files(dataset_name)
        if files and dataset_name in getattr(self, "_read_back", ()):
            self._saved[dataset_name] = (stamps(files), data)
        self._release()

    @hook_impl
    def before_node_run(self, node) -> dict[str, Any] | None:
        """This run's own data for each input another process rewrote since this run saved it."""
        own = {}
        for name in node.inputs:
            stamp, data = getattr(self, "_saved", {}).get(name, (None, None))
            if stamp is not None and stamps(self._files(name)) != stamp:
                logger.warning(
                    "%s was rewritten by another run since this run saved it: this run reads "
                    "what it saved.",
                    name,
                )
                own[name] = data
        return own or None

    @hook_impl
    def on_pipeline_error(self, error, run_params, pipeline, catalog) -> None:
        self._release()  # a save that raised

    def _files(self, name: str) -> list[Path]:
        """The local files of an unversioned catalog entry (a versioned one's are folders)."""
        return [p for p, is_folder in catalog_paths(self._conf_catalog.get(name)) if not is_folder]

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing drops the lock
            self._lock = None


def stamps(files: list[Path]) -> list[tuple[int, int, int] | None]:
    """What changes when a file is rewritten: its modification time, size and inode."""
    found = []
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            found.append(None)
        else:
            found.append((stat.st_mtime_ns, stat.st_size, stat.st_ino))
    return found
