"""A folder a node writes into itself while it runs (e.g. training checkpoints)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError


class DirectoryDataset(AbstractDataset[None, Path]):
    """Loads as the absolute ``Path`` of ``path`` (created if missing), so where a node keeps
    its working files is set in the catalog like every other path. Nothing is saved through it."""

    def __init__(self, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(path).resolve()
        self.metadata = metadata

    def load(self) -> Path:
        if self._path.exists() and not self._path.is_dir():
            raise DatasetError(
                f"{self._path} should be a folder (this run's working files go there) but is a "
                "file. It is left as it is: move it away, or set another path in the catalog."
            )
        self._path.mkdir(parents=True, exist_ok=True)
        return self._path

    def save(self, data: None) -> None:
        raise DatasetError(f"{self._path} is a working folder: nodes write into it themselves.")

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
