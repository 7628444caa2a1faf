"""Fashion-MNIST in the layout ``keras.datasets.fashion_mnist`` downloads: four gzipped IDX files.

``train-images-idx3-ubyte.gz`` (60000, 28, 28), ``train-labels-idx1-ubyte.gz`` (60000,),
``t10k-images-idx3-ubyte.gz`` (10000, 28, 28) and ``t10k-labels-idx1-ubyte.gz`` (10000,), all
uint8. The mirrors' gzip files and Debian's ``dataset-fashion-mnist`` package hold the same data
in different gzip wrappers, so each file is identified by the SHA-256 of what it *decodes to*,
never by its archive bytes, and is decoded no further than its expected size. A missing file is downloaded beside its place, checked and only
then renamed into it; a file that is there is validated (gzip, IDX magic number, dimensions,
length, labels, checksum) and accepted or refused with its name, the fault and the fix, and is
never overwritten.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from kedro.io import AbstractDataset, DatasetError

from .mnist_npz import RawDataError, fetch, partial_beside

logger = logging.getLogger(__name__)

# Where keras.datasets.fashion_mnist downloads from.
KERAS_FASHION_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049  # big-endian int32: 0x0000 0x08 (ubyte) ndim

# Array -> (file, shape, SHA-256 of the decompressed file).
FASHION_MNIST_FILES: dict[str, tuple[str, tuple[int, ...], str]] = {
    "x_train": ("train-images-idx3-ubyte.gz", (60000, 28, 28),
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    "y_train": ("train-labels-idx1-ubyte.gz", (60000,),
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    "x_test": ("t10k-images-idx3-ubyte.gz", (10000, 28, 28),
               "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    "y_test": ("t10k-labels-idx1-ubyte.gz", (10000,),
               "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
}  # fmt: skip


class IdxFileError(RawDataError):
    """An IDX file is missing, corrupt or not the expected one; the message says how to fix it."""


class IdxGzDataset(AbstractDataset[None, dict[str, np.ndarray]]):
    """Read-only Kedro dataset of a folder of gzipped IDX files, downloading those missing.

    Loads as MNIST's arrays do: ``{"x_train", "y_train", "x_test", "y_test"}``, uint8.
    """

    def __init__(
        self,
        *,
        path: str,
        url: str | None = KERAS_FASHION_URL,
        files: dict[str, tuple[str, tuple[int, ...], str | None]] | None = None,
        name: str = "Fashion-MNIST",
        timeout_s: float = 60.0,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """
        Args:
            path: The folder holding the four files (the raw-data cache).
            url: The base URL missing files are downloaded from (file name appended); ``None``
                disables downloads.
            files: ``{array: (file name, shape, SHA-256 of the decoded file or None)}``;
                Fashion-MNIST's by default.
            name: The data set's name in messages.
            timeout_s: Socket timeout of a download.
            metadata: Free-form metadata (kedro-viz shows the layer from here).
        """
        self._path = Path(path)
        self._url = url
        self._files = files or FASHION_MNIST_FILES
        self._name = name
        self._timeout_s = timeout_s
        self.metadata = metadata

    def load(self) -> dict[str, np.ndarray]:
        self.fetch()
        return {
            key: read_idx_gz(self._path / file, shape, sha256, self._fix(self._path / file))
            for key, (file, shape, sha256) in self._files.items()
        }

    def fetch(self) -> None:
        """Download the files that are missing (a file there is left as it is)."""
        for file, shape, sha256 in self._files.values():
            if not (self._path / file).exists():
                self._download(self._path / file, shape, sha256)

    def save(self, data: None) -> None:
        raise DatasetError(f"{type(self).__name__} is read-only: {self._path} is never written.")

    def _exists(self) -> bool:
        return all((self._path / file).exists() for file, _, _ in self._files.values())

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "url": self._url}

    def _fix(self, target: Path) -> str:
        return (
            f"Delete or move {target} away to have the project download it again, or replace it "
            f"with {self._name}'s {target.name} (any gzip wrapper of the same data)."
        )

    def _download(self, target: Path, shape: tuple[int, ...], sha256: str | None) -> None:
        if not self._url:
            raise IdxFileError(
                f"{self._name} file {target} does not exist and downloading is disabled (url is "
                f"null). Place the four files {[f for f, _, _ in self._files.values()]} in "
                f"{self._path}."
            )
        url = self._url.rstrip("/") + "/" + target.name
        with partial_beside(target) as tmp:
            with tmp.open("wb") as out:
                fetch(url, out, self._timeout_s, what=f"{self._name} {target.name}",
                      fix=f"place the file at {target} by hand.", error=IdxFileError)  # fmt: skip
            read_idx_gz(tmp, shape, sha256, "It was discarded: run again, or place the file by "
                        f"hand at {target}.", name=f"{url} (downloaded for {target})")  # fmt: skip
        logger.info("Downloaded %s to '%s'.", url, target)


def read_idx_gz(
    path: Path, shape: tuple[int, ...], sha256: str | None, fix: str, name: str | None = None
) -> np.ndarray:
    """The uint8 array of the gzipped IDX file at ``path``, checked to have ``shape`` (labels:
    one dimension, values 0..9) and, when given, the decoded SHA-256; IdxFileError otherwise."""
    name = name or str(path)
    if path.stat().st_size == 0:
        raise IdxFileError(f"IDX file {name} is empty. {fix}")
    header = 4 + 4 * len(shape)
    size = header + int(np.prod(shape))
    try:
        with gzip.open(path, "rb") as stream:
            # Never more than the file should hold: a gzip bomb (a few MB that decode to
            # gigabytes) is refused at size + 1 bytes, before memory fills.
            data = stream.read(size + 1)
            if len(data) > size:  # a corrupt stream or another file? read on a little, unkept
                for _ in range(16):
                    if not stream.read(max(size, 1 << 16)):
                        break
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise IdxFileError(
            f"IDX file {name} is not a whole gzip file: it is truncated or corrupt "
            f"({type(exc).__name__}: {exc}). {fix}"
        ) from exc
    expected_magic = IMAGES_MAGIC if len(shape) == 3 else LABELS_MAGIC
    what = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}
    magic = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
    if magic != expected_magic:
        found = what.get(magic, f"magic number {magic}, not an IDX file of bytes")
        raise IdxFileError(
            f"IDX file {name} holds {found}, expected {what[expected_magic]} (magic number "
            f"{expected_magic}): a wrong or swapped file. {fix}"
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(data[3]))
    if dims != shape:
        raise IdxFileError(f"IDX file {name} has shape {dims}, expected {shape}. {fix}")
    if len(data) != size:
        held = "more than " if len(data) > size else ""
        raise IdxFileError(
            f"IDX file {name} holds {held}{len(data) - header - (len(data) > size)} bytes of "
            f"data, expected {size - header} for shape {shape}; it was read no further. {fix}"
        )
    array = np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)
    if len(shape) == 1 and array.size and int(array.max()) > 9:
        raise IdxFileError(
            f"IDX file {name}: labels range over [{int(array.min())}, {int(array.max())}], "
            f"expected classes 0..9. {fix}"
        )
    digest = hashlib.sha256(data).hexdigest()
    if sha256 is not None and digest != sha256:
        raise IdxFileError(
            f"IDX file {name} decodes to data with SHA-256 {digest}, expected {sha256}: it has "
            f"the right layout but other contents (another data set, or changed bytes). {fix}"
        )
    return array
