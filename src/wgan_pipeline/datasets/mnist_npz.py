"""MNIST in Keras' ``mnist.npz`` layout: downloaded once with a checksum, or placed by hand.

The file holds ``x_train`` uint8 (60000, 28, 28), ``y_train`` uint8 (60000,), ``x_test`` uint8
(10000, 28, 28) and ``y_test`` uint8 (10000,). When it is missing, ``load`` downloads it from
``url`` to a temporary file beside it, checks the file's SHA-256 and its arrays, and only then
moves it into place. A file that is already there is never overwritten: it is validated and
either accepted or refused with a message that names it, says what is wrong and how to fix it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from kedro.io import AbstractDataset, DatasetError
from tqdm.auto import tqdm

from wgan_pipeline.errors import Refused

logger = logging.getLogger(__name__)

KERAS_MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
# SHA-256 of the file at KERAS_MNIST_URL (the value keras.datasets.mnist checks).
KERAS_MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
# MNIST's own arrays, whatever zip holds them: SHA-256 of each array's raw bytes.
MNIST_ARRAY_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
_ALREADY_SAID: set[Path] = set()  # files this process has warned of

# Array name -> (shape, number of classes for labels or None for images).
MNIST_LAYOUT: dict[str, tuple[tuple[int, ...], int | None]] = {
    "x_train": ((60000, 28, 28), None),
    "y_train": ((60000,), 10),
    "x_test": ((10000, 28, 28), None),
    "y_test": ((10000,), 10),
}


class RawDataError(Refused, DatasetError):
    """A raw data file cannot be had: a download failed, or a file is not what it should be."""


class MnistFileError(RawDataError):
    """The MNIST file is missing, unreadable or not MNIST; the message says how to fix it."""


class MnistNpzDataset(AbstractDataset[None, dict[str, np.ndarray]]):
    """Read-only Kedro dataset for MNIST in Keras' npz layout, downloading it when missing.

    Example catalog entry::

        raw_images:
          type: wgan_pipeline.datasets.MnistNpzDataset
          filepath: data/01_raw/mnist.npz
    """

    def __init__(
        self,
        *,
        filepath: str,
        url: str | None = KERAS_MNIST_URL,
        sha256: str | None = KERAS_MNIST_SHA256,
        layout: dict[str, tuple[tuple[int, ...], int | None]] | None = None,
        timeout_s: float = 60.0,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """
        Args:
            filepath: Local path of the npz file (the raw-data cache).
            url: Where to download the file when it is missing; ``None`` disables downloads.
            sha256: Expected SHA-256 of a downloaded file; ``None`` skips the file check
                (the arrays are validated either way).
            layout: Expected arrays as ``{name: (shape, n_classes or None)}``; MNIST's by default.
            timeout_s: Socket timeout of the download.
            metadata: Free-form metadata (kedro-viz shows the layer from here).
        """
        self._filepath = Path(filepath)
        self._url = url
        self._sha256 = sha256
        self._layout = {
            key: (tuple(shape), n_classes)
            for key, (shape, n_classes) in (layout or MNIST_LAYOUT).items()
        }
        self._timeout_s = timeout_s
        self.metadata = metadata

    def load(self) -> dict[str, np.ndarray]:
        self.fetch()
        arrays = read_mnist_npz(self._filepath, self._layout)
        self._say_if_not_the_known_file(arrays)
        return arrays

    def _say_if_not_the_known_file(self, arrays: dict[str, np.ndarray]) -> None:
        """A file placed by hand in the right layout may still not be MNIST: said once, by its
        arrays' checksums (any zip wrapping of the same arrays is the known file). It is used;
        the judge's test accuracy (classifier.min_test_accuracy) refuses data whose labels do
        not fit their images."""
        if self._layout != MNIST_LAYOUT or self._filepath in _ALREADY_SAID:
            return
        differ = [k for k, want in MNIST_ARRAY_SHA256.items()
                  if hashlib.sha256(arrays[k].tobytes()).hexdigest() != want]  # fmt: skip
        if differ:
            _ALREADY_SAID.add(self._filepath)
            logger.warning(
                "%s is not the known MNIST file: its %s differ from MNIST's (SHA-256 of the "
                "arrays). It has MNIST's layout, so it is used; if it is not MNIST, the judge's "
                "test accuracy refuses it. Delete it to have the real file downloaded.",
                self._filepath, ", ".join(differ),
            )  # fmt: skip

    def fetch(self) -> None:
        """Download the file if it is missing (a file there is left as it is)."""
        if not self._filepath.exists():
            self._download()

    def save(self, data: None) -> None:
        raise DatasetError(
            f"{type(self).__name__} is read-only: raw MNIST at '{self._filepath}' is never "
            "overwritten by the pipeline."
        )

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "url": self._url}

    def _download(self) -> None:
        target = self._filepath
        if not self._url:
            raise MnistFileError(
                f"MNIST file '{target}' does not exist and downloading is disabled (url is "
                f"null). Place an mnist.npz in Keras' layout there, e.g. `cp mnist.npz {target}`."
            )
        with partial_beside(target) as tmp:
            with tmp.open("wb") as out:
                digest = fetch(
                    self._url,
                    out,
                    self._timeout_s,
                    fix=f"place MNIST's mnist.npz (11 MB, Keras' layout) at {target} by hand, "
                    f"e.g. `cp mnist.npz {target}`, and run again.",
                )
            if self._sha256 and digest != self._sha256.lower():
                raise MnistFileError(
                    f"The file downloaded from {self._url} for '{target}' has SHA-256 {digest}, "
                    f"expected {self._sha256}; it was discarded. The download was corrupted or "
                    "the server sent another file: run again, or place a good mnist.npz at "
                    f"'{target}' by hand."
                )
            read_mnist_npz(tmp, self._layout, source=f"{self._url} (downloaded for '{target}')")
        logger.info("Downloaded MNIST to '%s' (SHA-256 %s).", target, digest)


@contextlib.contextmanager
def partial_beside(target: Path) -> Iterator[Path]:
    """A hidden, empty temporary file beside ``target`` (same folder: the rename is atomic, and
    a crash leaves no half-written file under the real name). Renamed onto ``target``, with a
    normal file's mode, when the block ends without an error; removed otherwise."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)  # mkstemp makes it owner-only
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def fetch(
    url: str,
    out,
    timeout_s: float,
    what: str = "MNIST",
    fix: str = "place an mnist.npz in Keras' layout at the dataset's filepath by hand.",
    error: type[RawDataError] = MnistFileError,
) -> str:
    """Stream ``url`` into the open file ``out`` with a progress bar; return the SHA-256. A
    failure raises ``error`` naming the URL and ``fix``."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=f"Downloading {what}") as bar:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
    except OSError as exc:  # URLError, HTTPError and socket timeouts are all OSErrors
        raise error(
            f"Could not download {what} from {url}: {exc}. Check the network connection, or {fix}"
        ) from exc
    return digest.hexdigest()


def read_mnist_npz(
    path: Path,
    layout: dict[str, tuple[tuple[int, ...], int | None]] = MNIST_LAYOUT,
    source: str | None = None,
) -> dict[str, np.ndarray]:
    """Read and validate an npz in Keras' MNIST layout; raise MnistFileError naming the fault.

    ``source`` describes a download being checked (it is discarded when refused).
    """
    name = source or f"'{path}'"
    if source:
        fix = "It was discarded: run again, or place a good mnist.npz at the filepath by hand."
    else:
        fix = (
            f"Delete or move it away to have the project download MNIST again, or replace it "
            f"with a good mnist.npz in Keras' layout (arrays {', '.join(layout)})."
        )
    _check_headers(path, layout, name, fix)
    arrays = _read_arrays(path, list(layout), name, fix)
    for key, (shape, n_classes) in layout.items():
        array = arrays[key]
        fault = _layout_fault(key, array.dtype, array.shape, shape)
        if fault:
            raise MnistFileError(f"MNIST file {name}: {fault}. {fix}")
        if n_classes is not None and array.size and int(array.max()) >= n_classes:
            raise MnistFileError(
                f"MNIST file {name}: labels in '{key}' range over [{int(array.min())}, "
                f"{int(array.max())}], expected digits 0..{n_classes - 1}. {fix}"
            )
    return arrays


def _check_headers(path: Path, layout: dict, name: str, fix: str) -> None:
    """Each expected array's shape and dtype as its .npy header states them, checked before any
    data is read: an array is read no further than its header says, so a header of other
    dimensions (a compressed member that inflates to gigabytes) is refused before memory fills.
    A member that is missing or cannot be read is left to ``_read_arrays`` to name."""
    with contextlib.suppress(OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error):
        with zipfile.ZipFile(path) as archive:
            present = set(archive.namelist())
            for key, (shape, _) in layout.items():
                if f"{key}.npy" not in present:
                    continue
                with archive.open(f"{key}.npy") as member:
                    major, _ = np.lib.format.read_magic(member)
                    read = {1: np.lib.format.read_array_header_1_0}.get(
                        major, np.lib.format.read_array_header_2_0
                    )
                    found, _, dtype = read(member)
                if dtype.hasobject:
                    continue  # np.load refuses it, saying why
                fault = _layout_fault(key, dtype, tuple(found), shape)
                if fault:
                    raise MnistFileError(f"MNIST file {name}: {fault}; it was not read. {fix}")


def _layout_fault(key: str, dtype: np.dtype, found: tuple, shape: tuple) -> str | None:
    if dtype != np.uint8:
        return f"array '{key}' has dtype {dtype}, expected uint8"
    if found != shape:
        return f"array '{key}' has shape {found}, expected {shape}"
    return None


def _read_arrays(path: Path, keys: list[str], name: str, fix: str) -> dict[str, np.ndarray]:
    """The named arrays of the npz at ``path``, never unpickling anything."""
    if path.stat().st_size == 0:
        raise MnistFileError(f"MNIST file {name} is empty. {fix}")
    if not zipfile.is_zipfile(path):
        raise MnistFileError(
            f"MNIST file {name} is not an npz (zip) archive, or is truncated. {fix}"
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in keys if key not in npz.files]
            if missing:
                raise MnistFileError(
                    f"MNIST file {name} lacks the arrays {missing} (it has {npz.files}). {fix}"
                )
            return {key: npz[key] for key in keys}
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise MnistFileError(
                f"MNIST file {name} holds object (pickled) arrays, which are never loaded "
                f"because unpickling can run arbitrary code. {fix}"
            ) from exc
        raise MnistFileError(f"MNIST file {name} cannot be read: {exc}. {fix}") from exc
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as exc:
        raise MnistFileError(
            f"MNIST file {name} is truncated or corrupt ({type(exc).__name__}: {exc}). {fix}"
        ) from exc
