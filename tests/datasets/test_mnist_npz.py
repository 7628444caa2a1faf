"""Tests of the MNIST npz dataset: validation of hand-placed files, the download, the read-only API.

Everything runs offline: the "valid" MNIST-layout file is synthetic, and downloads are served by a
local HTTP server on 127.0.0.1. The one test on the real MNIST copy skips when it is absent.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import os
import socket
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from kedro.io import DatasetError

from wgan_pipeline.datasets import MnistNpzDataset
from wgan_pipeline.datasets.mnist_npz import MNIST_LAYOUT, MnistFileError, read_mnist_npz

from ..helpers import memory_growth

REAL_MNIST = Path(__file__).resolve().parents[3] / "shared/data/mnist/mnist.npz"
REAL_X_TRAIN_SHA256 = "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757"
FIX_HINT = "Delete or move it away"

Arrays = dict[str, np.ndarray]


# --------------------------------------------------------------------------- helpers / fixtures


def _sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _closed_url() -> str:
    return f"http://127.0.0.1:{_closed_port()}/mnist.npz"


def _dir_listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture(scope="session")
def mnist_arrays() -> Arrays:
    """Synthetic arrays in Keras' MNIST layout; mostly zeros so they compress to a few KiB."""
    rng = np.random.default_rng(0)
    x_train = np.zeros((60000, 28, 28), np.uint8)
    x_train[:, 14, 14] = np.arange(60000) % 256  # some content, to check round-trips
    x_test = np.zeros((10000, 28, 28), np.uint8)
    x_test[:, 7, 7] = np.arange(10000) % 256
    return {
        "x_train": x_train,
        "y_train": rng.integers(0, 10, 60000, dtype=np.uint8),
        "x_test": x_test,
        "y_test": rng.integers(0, 10, 10000, dtype=np.uint8),
    }


@pytest.fixture(scope="session")
def valid_npz(tmp_path_factory: pytest.TempPathFactory, mnist_arrays: Arrays) -> Path:
    path = tmp_path_factory.mktemp("valid") / "mnist.npz"
    np.savez_compressed(path, **mnist_arrays)
    return path


def _flip_compressed_member(data: bytes, member: str) -> bytes:
    """Corrupt the deflate stream of one npz member, keeping the zip's directory intact."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(member)
    # Local file header: 30 fixed bytes, then the file name and the extra field.
    name_len = int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little")
    extra_len = int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_len + extra_len
    corrupt = bytearray(data)
    for i in range(start, start + 64):
        corrupt[i] ^= 0xFF
    return bytes(corrupt)


@pytest.fixture(scope="session")
def served_dir(tmp_path_factory: pytest.TempPathFactory, valid_npz: Path) -> Path:
    """What the local HTTP server serves: a valid npz and two corrupt ones."""
    directory = tmp_path_factory.mktemp("served")
    data = valid_npz.read_bytes()
    (directory / "mnist.npz").write_bytes(data)
    (directory / "truncated.npz").write_bytes(data[: len(data) // 2])
    (directory / "bitflip.npz").write_bytes(_flip_compressed_member(data, "x_train.npy"))
    return directory


class _Server:
    def __init__(self, directory: Path) -> None:
        self.requests: list[str] = []
        server_self = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server_self.requests.append(self.path)
                super().do_GET()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        handler = functools.partial(Handler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def _module_server(served_dir: Path) -> Iterator[_Server]:
    srv = _Server(served_dir)
    yield srv
    srv.close()


@pytest.fixture
def server(_module_server: _Server, monkeypatch: pytest.MonkeyPatch) -> _Server:
    """The local server, its request log emptied; proxy variables unset (urllib honours them)."""
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    _module_server.requests.clear()
    return _module_server


def _assert_mnist_arrays(arrays: Arrays, expected: Arrays | None = None) -> None:
    assert set(arrays) == set(MNIST_LAYOUT)
    for key, (shape, n_classes) in MNIST_LAYOUT.items():
        assert arrays[key].dtype == np.uint8, key
        assert arrays[key].shape == shape, key
        if n_classes is not None:
            assert int(arrays[key].max()) < n_classes, key
        if expected is not None:
            np.testing.assert_array_equal(arrays[key], expected[key], err_msg=key)


# --------------------------------------------------------------------------- hand-placed files


def _save(path: Path, arrays: Arrays, compressed: bool = False) -> None:
    # Uncompressed by default: writing/reading the raw arrays is faster than deflating them.
    with path.open("wb") as f:  # a file object keeps numpy from appending ".npz"
        (np.savez_compressed if compressed else np.savez)(f, **arrays)


def _write_empty(path: Path, arrays: Arrays) -> None:
    path.write_bytes(b"")


def _write_random_bytes(path: Path, arrays: Arrays) -> None:
    path.write_bytes(np.random.default_rng(1).bytes(4096))


def _write_truncated(path: Path, arrays: Arrays) -> None:
    _save(path, arrays, compressed=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _write_missing_key(path: Path, arrays: Arrays) -> None:
    _save(path, {k: v for k, v in arrays.items() if k != "y_test"})


def _write_wrong_shape(path: Path, arrays: Arrays) -> None:
    _save(path, {**arrays, "x_train": np.zeros((60000, 28, 27), np.uint8)})


def _write_float32(path: Path, arrays: Arrays) -> None:
    _save(path, {**arrays, "x_train": np.ones((60000, 28, 28), np.float32)})


def _write_float32_nan(path: Path, arrays: Arrays) -> None:
    x_train = np.zeros((60000, 28, 28), np.float32)
    x_train[0, 0, 0] = np.nan
    _save(path, {**arrays, "x_train": x_train})


def _write_label_10(path: Path, arrays: Arrays) -> None:
    y_train = arrays["y_train"].copy()
    y_train[123] = 10
    _save(path, {**arrays, "y_train": y_train})


def _write_object_array(path: Path, arrays: Arrays) -> None:
    _save(path, {**arrays, "y_test": np.array([1, "two", None], dtype=object)})


# case id -> (writer, fragments the message must contain besides the path and the fix hint)
BAD_FILES: dict[str, tuple[Callable[[Path, Arrays], None], tuple[str, ...]]] = {
    "empty": (_write_empty, ("is empty",)),
    "not_a_zip": (_write_random_bytes, ("not an npz (zip) archive",)),
    # Cutting a zip in half removes its central directory, so it reads as "not a zip"; a
    # message saying "truncated or corrupt" would be at least as good.
    "truncated": (_write_truncated, ("not an npz (zip) archive|truncated or corrupt",)),
    "missing_key": (_write_missing_key, ("lacks the arrays ['y_test']",)),
    "wrong_shape": (
        _write_wrong_shape,
        ("'x_train'", "shape (60000, 28, 27)", "expected (60000, 28, 28)"),
    ),
    "float32": (_write_float32, ("'x_train'", "dtype float32", "expected uint8")),
    "float32_nan": (_write_float32_nan, ("'x_train'", "dtype float32", "expected uint8")),
    "label_10": (_write_label_10, ("labels in 'y_train'", "[0, 10]", "expected digits 0..9")),
    "object_array": (_write_object_array, ("object (pickled) arrays",)),
}


def _assert_message(message: str, path: Path, fragments: tuple[str, ...]) -> None:
    assert str(path) in message, f"message does not name the file: {message}"
    assert FIX_HINT in message, f"message does not say how to fix it: {message}"
    for fragment in fragments:
        alternatives = fragment.split("|")
        assert any(alt in message for alt in alternatives), (
            f"message lacks {alternatives}: {message}"
        )


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_hand_placed_file_is_refused_and_left_untouched(
    case: str, tmp_path: Path, mnist_arrays: Arrays
) -> None:
    writer, fragments = BAD_FILES[case]
    path = tmp_path / "mnist.npz"
    writer(path, mnist_arrays)
    before = (_sha256_file(path), path.stat().st_size, path.stat().st_mtime_ns)
    listing = _dir_listing(tmp_path)

    # A closed-port url: had the dataset tried to download, the message would say so instead.
    dataset = MnistNpzDataset(filepath=str(path), url=_closed_url())
    with pytest.raises(MnistFileError) as info:
        dataset.load()

    assert isinstance(info.value, DatasetError)
    _assert_message(str(info.value), path, fragments)
    assert "Could not download" not in str(info.value)
    # Never modified, replaced or deleted, and nothing written beside it.
    assert path.exists()
    assert (_sha256_file(path), path.stat().st_size, path.stat().st_mtime_ns) == before
    assert _dir_listing(tmp_path) == listing


def test_read_mnist_npz_refuses_bad_file_directly(tmp_path: Path, mnist_arrays: Arrays) -> None:
    path = tmp_path / "mnist.npz"
    _write_label_10(path, mnist_arrays)
    with pytest.raises(MnistFileError) as info:
        read_mnist_npz(path)
    _assert_message(str(info.value), path, BAD_FILES["label_10"][1])


def test_corrupt_compressed_member_is_refused(tmp_path: Path, valid_npz: Path) -> None:
    path = tmp_path / "mnist.npz"
    path.write_bytes(_flip_compressed_member(valid_npz.read_bytes(), "x_train.npy"))
    with pytest.raises(MnistFileError) as info:
        read_mnist_npz(path)
    _assert_message(str(info.value), path, ("truncated or corrupt",))


def test_valid_file_loads_four_arrays(valid_npz: Path, mnist_arrays: Arrays) -> None:
    before = (_sha256_file(valid_npz), valid_npz.stat().st_mtime_ns)
    arrays = MnistNpzDataset(filepath=str(valid_npz), url=None).load()
    _assert_mnist_arrays(arrays, mnist_arrays)
    assert (_sha256_file(valid_npz), valid_npz.stat().st_mtime_ns) == before


def test_read_mnist_npz_returns_arrays(valid_npz: Path, mnist_arrays: Arrays) -> None:
    _assert_mnist_arrays(read_mnist_npz(valid_npz), mnist_arrays)


@pytest.mark.skipif(
    not REAL_MNIST.is_file(),
    reason=f"real MNIST copy not found at {REAL_MNIST} (the shared data folder beside the repo)",
)
def test_real_mnist_loads() -> None:
    arrays = MnistNpzDataset(filepath=str(REAL_MNIST), url=None).load()
    _assert_mnist_arrays(arrays)
    assert arrays["y_train"][:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert hashlib.sha256(arrays["x_train"].tobytes()).hexdigest() == REAL_X_TRAIN_SHA256


# --------------------------------------------------------------------------- download


def test_download_with_good_checksum(
    tmp_path: Path, server: _Server, served_dir: Path, mnist_arrays: Arrays
) -> None:
    target = tmp_path / "raw" / "mnist.npz"  # parent created by the dataset
    served = served_dir / "mnist.npz"
    dataset = MnistNpzDataset(
        filepath=str(target), url=server.url("mnist.npz"), sha256=_sha256_file(served)
    )
    assert not dataset.exists()

    arrays = dataset.load()

    _assert_mnist_arrays(arrays, mnist_arrays)
    assert server.requests == ["/mnist.npz"]
    assert target.read_bytes() == served.read_bytes()
    assert _dir_listing(target.parent) == ["mnist.npz"]  # no .part temp files left
    assert dataset.exists()
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # a normal file, not mkstemp's 0600


def test_download_with_bad_checksum_keeps_nothing(
    tmp_path: Path, server: _Server, served_dir: Path
) -> None:
    target = tmp_path / "mnist.npz"
    url = server.url("mnist.npz")
    dataset = MnistNpzDataset(filepath=str(target), url=url, sha256="0" * 64)

    with pytest.raises(MnistFileError) as info:
        dataset.load()

    message = str(info.value)
    actual = _sha256_file(served_dir / "mnist.npz")
    assert "SHA-256" in message
    assert actual in message, f"message lacks the actual SHA-256: {message}"
    assert f"expected {'0' * 64}" in message
    assert url in message and str(target) in message
    assert server.requests == ["/mnist.npz"]
    assert not target.exists()
    assert _dir_listing(tmp_path) == []


@pytest.mark.parametrize(
    "served_name",
    ["truncated.npz", "bitflip.npz"],
)
def test_download_of_corrupt_file_is_refused_and_not_kept(
    tmp_path: Path, server: _Server, served_name: str
) -> None:
    target = tmp_path / "mnist.npz"
    url = server.url(served_name)
    dataset = MnistNpzDataset(filepath=str(target), url=url, sha256=None)

    with pytest.raises(DatasetError) as info:
        dataset.load()

    assert server.requests == [f"/{served_name}"]
    assert not target.exists()
    assert _dir_listing(tmp_path) == []
    assert isinstance(info.value, MnistFileError), f"{type(info.value).__name__}: {info.value}"
    message = str(info.value)
    assert url in message and str(target) in message, message
    assert "not an npz (zip) archive" in message or "truncated or corrupt" in message, message


def test_download_from_unreachable_url_keeps_nothing(tmp_path: Path) -> None:
    target = tmp_path / "mnist.npz"
    url = _closed_url()
    dataset = MnistNpzDataset(filepath=str(target), url=url, timeout_s=5)

    with pytest.raises(MnistFileError) as info:
        dataset.load()

    message = str(info.value)
    assert f"Could not download MNIST from {url}" in message
    assert f"place MNIST's mnist.npz (11 MB, Keras' layout) at {tmp_path / 'mnist.npz'}" in message
    assert not target.exists()
    assert _dir_listing(tmp_path) == []


def test_missing_file_with_downloads_disabled(tmp_path: Path) -> None:
    target = tmp_path / "data" / "mnist.npz"
    dataset = MnistNpzDataset(filepath=str(target), url=None)

    with pytest.raises(MnistFileError) as info:
        dataset.load()

    message = str(info.value)
    assert str(target) in message
    assert "downloading is disabled" in message
    assert f"cp mnist.npz {target}" in message
    assert not target.parent.exists()  # nothing created either


def test_existing_file_is_never_downloaded_again(
    tmp_path: Path, server: _Server, valid_npz: Path, mnist_arrays: Arrays
) -> None:
    target = tmp_path / "mnist.npz"
    target.write_bytes(valid_npz.read_bytes())
    mtime = target.stat().st_mtime_ns

    # The url points at the live server, which records every hit; a bad checksum too.
    dataset = MnistNpzDataset(filepath=str(target), url=server.url("mnist.npz"), sha256="0" * 64)
    _assert_mnist_arrays(dataset.load(), mnist_arrays)

    assert server.requests == []
    assert target.stat().st_mtime_ns == mtime
    assert _dir_listing(tmp_path) == ["mnist.npz"]


# --------------------------------------------------------------------------- read-only API


def test_save_is_refused(tmp_path: Path, valid_npz: Path) -> None:
    target = tmp_path / "mnist.npz"
    target.write_bytes(valid_npz.read_bytes())
    dataset = MnistNpzDataset(filepath=str(target), url=None)

    with pytest.raises(DatasetError, match="read-only") as info:
        dataset.save({"x_train": np.zeros((1, 28, 28), np.uint8)})
    assert str(target) in str(info.value)
    # Kedro itself refuses None before the dataset's own save runs.
    with pytest.raises(DatasetError, match="None"):
        dataset.save(None)
    assert target.read_bytes() == valid_npz.read_bytes()


def test_exists_reflects_the_file(tmp_path: Path, valid_npz: Path) -> None:
    target = tmp_path / "mnist.npz"
    dataset = MnistNpzDataset(filepath=str(target), url=_closed_url())
    assert dataset.exists() is False
    target.write_bytes(valid_npz.read_bytes())
    assert dataset.exists() is True
    os.remove(target)
    assert dataset.exists() is False


def test_an_array_that_inflates_to_gigabytes_is_refused_before_it_is_read(tmp_path):
    """x_train's header says 512 MB of zeros, compressed to half a MB: refused from its header,
    never read (numpy would have read the whole array into memory)."""
    path = tmp_path / "mnist.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("x_train.npy", "w", force_zip64=True) as member:
            header = {"descr": "|u1", "fortran_order": False, "shape": (1 << 29,)}
            np.lib.format.write_array_header_1_0(member, header)
            for _ in range(32):
                member.write(bytes(1 << 24))
        for key, (shape, _) in MNIST_LAYOUT.items():  # the rest as MNIST has them
            if key != "x_train":
                with archive.open(f"{key}.npy", "w") as member:
                    np.lib.format.write_array(member, np.zeros(shape, np.uint8))
    code = (
        "from pathlib import Path\nfrom wgan_pipeline.datasets.mnist_npz import read_mnist_npz\n"
        f"def call():\n    read_mnist_npz(Path({str(path)!r}))\n"
    )
    growth, error = memory_growth(code, tmp_path)
    assert "array 'x_train' has shape (536870912,), expected (60000, 28, 28)" in error, error
    assert "it was not read" in error and growth < 64, f"grew by {growth:.0f} MB"
