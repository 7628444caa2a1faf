"""Every path the run will write, checked before the first node (by ConfigChecksHook), not at the
save that fails; and the rules for ``output_root``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from wgan_pipeline.errors import Refused


class OutputPathError(Refused, RuntimeError):
    """A catalog path cannot be written: something that is not a folder stands in its way."""


def check_output_paths(pipeline, conf_catalog: dict[str, Any]) -> None:
    """Each local path of the catalog entries ``pipeline`` uses must be writable where it will
    be written. A file where a folder of the path should be (``data/08_reporting`` as a file), a
    folder where a file should be, or a folder this user cannot write would otherwise fail
    after training, at the save, with Kedro's generic "Failed while saving data" message."""
    outputs = pipeline.all_outputs()
    faults = [
        f"{fault} (catalog entry '{name}')"
        for name in sorted(pipeline.datasets())
        for path, is_folder in catalog_paths(conf_catalog.get(name))
        if (fault := path_fault(path, is_folder, written=name in outputs))
    ]
    if faults:
        raise OutputPathError(
            "The run could not save its outputs: "
            + "; ".join(faults)
            + ". They are left as they are; nothing was run. Move them away, or set other "
            "paths in conf/<env>/catalog.yml."
        )


def catalog_paths(entry: Any, versioned: bool = False) -> list[tuple[Path, bool]]:
    """The local paths of one catalog entry (nested ``dataset:`` entries too), each with
    whether it is a folder: a versioned dataset's path holds one folder per version (a
    CachedDataset says ``versioned`` for the dataset it wraps)."""
    if not isinstance(entry, dict):
        return []
    versioned = versioned or bool(entry.get("versioned"))
    found = []
    for key, is_folder in (("filepath", versioned), ("path", True)):
        value = entry.get(key)
        if isinstance(value, str) and "://" not in value and "{" not in value:
            found.append((Path(value), is_folder))
    return found + catalog_paths(entry.get("dataset"), versioned)


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


OUTPUT_LAYERS = {"06_models", "07_model_output", "08_reporting"}  # what a run writes there
NAME_MAX = 255  # bytes in one file or folder name, on every common Linux and macOS file system


# The project's folders that never hold outputs, and why.
_OWN_FILES = (
    "the project's own files (packaged, versioned or read as code): outputs go to data/ or a "
    "folder under it, e.g. data/runs/mine"
)
NOT_FOR_OUTPUTS = {
    "data/01_raw": "the raw data, which runs never write",
    **{f"{name}/": _OWN_FILES for name in
       ("conf", "src", ".git", "notebooks", "tests", "docs", "benchmarks", "scripts")},
}  # fmt: skip


def output_root_fault(root: str, project: Path) -> str | None:
    """Why ``--params output_root=<root>`` cannot hold a run's outputs, or None. It may be the
    project's data/ or a folder under it (never inside data/01_raw, the raw data), another
    folder of the project that is new, empty or holds only outputs, or a folder outside the
    project that the user made for it (it exists and is empty or holds only outputs): never `/`,
    a system folder or someone's home, which hold other things."""
    long = next((p for p in Path(root).parts if len(os.fsencode(p)) > NAME_MAX), None)
    if long is not None:
        return f"has a folder name of {len(os.fsencode(long))} bytes, over the {NAME_MAX} a file system allows"
    try:
        target = (project / root).resolve()  # links followed: where the files would really go
    except (OSError, ValueError) as exc:
        return f"is not a usable folder path ({exc})"
    protected = next(
        (f for f in NOT_FOR_OUTPUTS if target == project / f or project / f in target.parents),
        None,
    )
    if protected is not None:
        return f"is inside {protected}, {NOT_FOR_OUTPUTS[protected]}"
    if target.exists():  # data/ and its folders hold the outputs by default
        inside_data = target == project / "data" or project / "data" in target.parents
        return None if inside_data else _not_for_outputs(target)
    if project in target.parents:
        return None  # a new folder of the project
    return (
        f"is {target}, a folder outside the project that does not exist: the run creates none "
        "there. Make it first (mkdir), or use a folder under data/"
    )


def _not_for_outputs(folder: Path) -> str | None:
    """Why an existing ``folder`` is not one made for a run's outputs, or None."""
    if not folder.is_dir():
        return "is a file, not a folder"
    # hidden files count: a folder holding only .git or .env is not an empty one
    others = sorted(p.name for p in folder.iterdir() if p.name not in OUTPUT_LAYERS)
    if not others:
        return None
    return (
        f"is the folder {folder}, which holds other things ({', '.join(others[:5])}"
        f"{', ...' if len(others) > 5 else ''}): a run writes only to data/, a folder under it, "
        "or an empty folder made for its outputs"
    )
