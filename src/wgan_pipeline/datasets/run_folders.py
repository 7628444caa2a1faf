"""The folder training keeps its checkpoints in, one run folder per training process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from wgan_pipeline.training_run.run_folder import RunFolders


class RunFoldersDataset(AbstractDataset[None, RunFolders]):
    """Loads as the ``RunFolders`` of ``path`` (created if missing), so where training keeps
    its checkpoints is set in the catalog like every other path. Nothing is saved through it:
    training writes into it itself."""

    def __init__(self, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(path).resolve()
        self.metadata = metadata

    def load(self) -> RunFolders:
        if self._path.exists() and not self._path.is_dir():
            raise DatasetError(
                f"{self._path} should be a folder (this run's working files go there) but is a "
                "file. It is left as it is: move it away, or set another path in the catalog."
            )
        self._path.mkdir(parents=True, exist_ok=True)
        return RunFolders(self._path)

    def save(self, data: None) -> None:
        raise DatasetError(f"{self._path} is a working folder: training writes into it itself.")

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
