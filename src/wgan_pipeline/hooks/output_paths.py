"""Every path the run will write is checked before the first node, not at the save that fails."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl


class OutputPathError(RuntimeError):
    """A catalog path cannot be written: something that is not a folder stands in its way."""


class OutputPathsHook:
    """Before kedro-mlflow opens the run (``tryfirst``), so a refusal leaves no MLflow run: each
    local path of the catalog entries this pipeline uses must be writable where it will be
    written. A file where a folder of the path should be (``data/08_reporting`` as a file), a
    folder where a file should be, or a folder this user cannot write would otherwise fail
    after training, at the save, with Kedro's generic "Failed while saving data" message."""

    _conf_catalog: dict[str, Any] | None = None

    @hook_impl
    def after_catalog_created(self, conf_catalog: dict[str, Any]) -> None:
        self._conf_catalog = conf_catalog  # paths already absolute

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params, pipeline, catalog) -> None:
        outputs = pipeline.all_outputs()
        faults = [
            f"{fault} (catalog entry '{name}')"
            for name in sorted(pipeline.datasets())
            for path, is_folder in catalog_paths((self._conf_catalog or {}).get(name))
            if (fault := path_fault(path, is_folder, written=name in outputs))
        ]
        if faults:
            raise OutputPathError(
                "The run could not save its outputs: "
                + "; ".join(faults)
                + ". They are left as they are; nothing was run. Move them away, or set other "
                "paths in conf/<env>/catalog.yml."
            )


def catalog_paths(entry: Any) -> list[tuple[Path, bool]]:
    """The local paths of one catalog entry (nested ``dataset:`` entries too), each with
    whether it is a folder: a versioned dataset's path holds one folder per version."""
    if not isinstance(entry, dict):
        return []
    found = []
    for key, is_folder in (("filepath", bool(entry.get("versioned"))), ("path", True)):
        value = entry.get(key)
        if isinstance(value, str) and "://" not in value and "{" not in value:
            found.append((Path(value), is_folder))
    return found + catalog_paths(entry.get("dataset"))


def path_fault(path: Path, is_folder: bool, written: bool = True) -> str | None:
    """What stops ``path`` from being written, or None. An input that is not ``written`` by
    the pipeline (the raw data) needs a writable folder only while it is missing (to be
    downloaded)."""
    blocking = next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        return f"{blocking} should be a folder but is a file"
    if path.exists() and is_folder != path.is_dir():
        return (
            f"{path} should be a folder (one per saved version) but is a file"
            if is_folder
            else f"{path} should be a file but is a folder"
        )
    if path.is_file():
        if written and not os.access(path, os.W_OK):
            return f"{path} is not writable by this user"
        return None
    existing = path if path.is_dir() else next(p for p in path.parents if p.exists())
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is a folder this user cannot write"
    return None
