"""A NumPy array as a ``.npy`` file: no kedro-datasets class reads or writes one."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import fsspec
import numpy as np
from kedro.io.core import (
    AbstractVersionedDataset,
    DatasetError,
    Version,
    get_filepath_str,
    get_protocol_and_path,
)


class NpyDataset(AbstractVersionedDataset[np.ndarray, np.ndarray]):
    """Saves and loads one array with ``np.save``/``np.load`` (pickles refused), versionable.

    Example catalog entry::

        generated_samples:
          type: wgan_pipeline.datasets.NpyDataset
          filepath: data/07_model_output/generated_samples.npy
    """

    def __init__(
        self,
        *,
        filepath: str,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        protocol, path = get_protocol_and_path(filepath, version)
        self._protocol = protocol
        self._fs = fsspec.filesystem(protocol)
        self.metadata = metadata
        super().__init__(
            filepath=PurePosixPath(path),
            version=version,
            exists_function=self._fs.exists,
            glob_function=self._fs.glob,
        )

    def load(self) -> np.ndarray:
        path = get_filepath_str(self._get_load_path(), self._protocol)
        with self._fs.open(path, "rb") as f:
            return np.load(f, allow_pickle=False)

    def save(self, data: np.ndarray) -> None:
        path = get_filepath_str(self._get_save_path(), self._protocol)
        self._fs.mkdirs(str(PurePosixPath(path).parent), exist_ok=True)
        with self._fs.open(path, "wb") as f:
            np.save(f, np.asarray(data), allow_pickle=False)

    def _exists(self) -> bool:
        try:
            path = self._get_load_path()
        except DatasetError:  # no version saved yet
            return False
        return self._fs.exists(get_filepath_str(path, self._protocol))

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version}
