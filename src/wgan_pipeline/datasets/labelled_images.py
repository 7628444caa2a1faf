"""The raw data set named by ``data.dataset``, read from the layout Keras downloads it in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from kedro.io import AbstractDataset, DatasetError

from .idx_gz import KERAS_FASHION_URL, IdxGzDataset
from .mnist_npz import KERAS_MNIST_URL, MnistNpzDataset


class LabelledImagesDataset(AbstractDataset[None, dict[str, np.ndarray]]):
    """``{x_train, y_train, x_test, y_test}`` (uint8) of ``dataset``, cached under ``path``:

    - ``mnist``: ``<path>/mnist.npz`` (:class:`MnistNpzDataset`);
    - ``fashion_mnist``: ``<path>/fashion-mnist/`` holding the four gzipped IDX files
      (:class:`IdxGzDataset`).

    Each downloads what is missing, with a checksum, and refuses a bad file by name, untouched.
    """

    def __init__(
        self,
        *,
        dataset: str,
        path: str,
        mnist_url: str | None = KERAS_MNIST_URL,
        fashion_mnist_url: str | None = KERAS_FASHION_URL,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        folder = Path(path)
        readers = {
            "mnist": lambda: MnistNpzDataset(filepath=str(folder / "mnist.npz"), url=mnist_url),
            "fashion_mnist": lambda: IdxGzDataset(
                path=str(folder / "fashion-mnist"), url=fashion_mnist_url
            ),
        }
        if dataset not in readers:
            raise DatasetError(
                f"Unknown data set '{dataset}': the data sets are {sorted(readers)}. Set "
                "data.dataset (conf/<env>/globals.yml `dataset:`, or --params data.dataset=...)."
            )
        self._dataset = dataset
        self._reader = readers[dataset]()
        self.metadata = metadata

    def load(self) -> dict[str, np.ndarray]:
        return self._reader.load()

    def fetch(self) -> None:
        """Download what is missing now (a run does it before its MLflow run opens, so a failed
        download leaves no failed run behind); raises RawDataError naming the file to place."""
        self._reader.fetch()

    @property
    def source(self) -> Path:
        """Where the arrays are read from: ``<path>/mnist.npz``, or the folder
        ``<path>/fashion-mnist/`` of Fashion-MNIST's four files (a run's MLflow input names it)."""
        described = self._reader._describe()  # noqa: SLF001
        return Path(described.get("filepath") or described["path"])

    def save(self, data: None) -> None:
        raise DatasetError(f"The raw {self._dataset} files are never written by the pipeline.")

    def _exists(self) -> bool:
        return self._reader.exists()

    def _describe(self) -> dict[str, Any]:
        return {"dataset": self._dataset, **self._reader._describe()}  # noqa: SLF001
