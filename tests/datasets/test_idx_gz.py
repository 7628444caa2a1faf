"""IdxGzDataset on real Fashion-MNIST: the shared copy accepted whatever its gzip wrapper; a
corrupt, wrong, short or swapped file refused by name and left untouched; downloads checked."""

from __future__ import annotations

import functools
import gzip
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from wgan_pipeline.datasets import IdxGzDataset, LabelledImagesDataset
from wgan_pipeline.datasets.idx_gz import FASHION_MNIST_FILES, IdxFileError, read_idx_gz

from ..helpers import FASHION_FILES, digest, fashion_mnist_copy, memory_growth

LABELS = "t10k-labels-idx1-ubyte.gz"  # the smallest file: most faults are shown on it
_, LABELS_SHAPE, LABELS_SHA = FASHION_MNIST_FILES["y_test"]


@pytest.fixture(scope="module")
def fashion(tmp_path_factory) -> Path:
    """A private copy of the four files (tests change files in copies, never the source)."""
    folder = tmp_path_factory.mktemp("fashion") / "fashion-mnist"
    folder.mkdir()
    for name in FASHION_FILES:
        shutil.copy(fashion_mnist_copy() / name, folder / name)
    return folder


def decoded(folder: Path, name: str) -> bytes:
    return gzip.decompress((folder / name).read_bytes())


def test_the_four_files_are_accepted_as_fashion_mnist(fashion):
    arrays = IdxGzDataset(path=str(fashion), url=None).load()
    assert {k: v.shape for k, v in arrays.items()} == {
        "x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28),
        "y_test": (10000,),
    }  # fmt: skip
    assert all(a.dtype == np.uint8 for a in arrays.values())
    assert np.bincount(arrays["y_train"]).tolist() == [6000] * 10
    assert arrays["x_train"].mean() == pytest.approx(72.94, abs=0.01)  # its README's mean pixel


def test_another_gzip_wrapper_of_the_same_data_is_accepted(fashion, tmp_path):
    """The mirrors' and Debian's .gz files differ; what they decode to does not."""
    rewrapped = tmp_path / LABELS
    rewrapped.write_bytes(gzip.compress(decoded(fashion, LABELS), compresslevel=1, mtime=0))
    assert rewrapped.read_bytes() != (fashion / LABELS).read_bytes()
    labels = read_idx_gz(rewrapped, LABELS_SHAPE, LABELS_SHA, "fix")
    assert np.bincount(labels).tolist() == [1000] * 10


def flipped_byte(data: bytes) -> bytes:
    inside = bytearray(data)
    inside[len(data) // 2] ^= 0xFF  # inside the deflate stream, between header and CRC
    return bytes(inside)


def wrong_magic(data: bytes) -> bytes:
    return (2050).to_bytes(4, "big") + data[4:]


def short_labels(data: bytes) -> bytes:  # a whole IDX file of 9,999 labels
    return data[:4] + (9999).to_bytes(4, "big") + data[8:-1]


def truncated_labels(data: bytes) -> bytes:  # the header says 10,000; 9,999 follow
    return data[:-1]


def other_labels(data: bytes) -> bytes:  # the right layout, changed contents
    return data[:8] + bytes((b + 1) % 10 for b in data[8:])


@pytest.mark.parametrize(
    ("make", "gzipped", "message"),
    [
        (flipped_byte, False, "is not a whole gzip file: it is truncated or corrupt"),
        (lambda data: data[: len(data) // 2], False, "is not a whole gzip file"),
        (wrong_magic, True, "holds magic number 2050, not an IDX file of bytes, expected labels"),
        (short_labels, True, "has shape (9999,), expected (10000,)"),
        (truncated_labels, True, "holds 9999 bytes of data, expected 10000"),
        (other_labels, True, "decodes to data with SHA-256"),
    ],
    ids=["flipped-byte", "truncated-gzip", "wrong-magic", "wrong-length", "short-data", "other"],
)
def test_a_bad_labels_file_is_refused_by_name_and_left_untouched(
    fashion, tmp_path, make, gzipped, message
):
    folder = tmp_path / "fashion-mnist"
    shutil.copytree(fashion, folder)
    source = decoded(fashion, LABELS) if gzipped else (fashion / LABELS).read_bytes()
    bad = make(source)
    (folder / LABELS).write_bytes(gzip.compress(bad) if gzipped else bad)
    before = digest(folder / LABELS)
    with pytest.raises(IdxFileError) as raised:
        IdxGzDataset(path=str(folder), url=None).load()
    assert str(folder / LABELS) in str(raised.value)
    assert message in str(raised.value)
    assert "Delete or move" in str(raised.value)  # the fix
    assert digest(folder / LABELS) == before


def test_a_labels_file_swapped_with_an_images_file_is_named(fashion, tmp_path):
    folder = tmp_path / "fashion-mnist"
    shutil.copytree(fashion, folder)
    images = "t10k-images-idx3-ubyte.gz"
    (folder / LABELS).rename(tmp_path / "labels")
    (folder / images).rename(folder / LABELS)
    (tmp_path / "labels").rename(folder / images)
    with pytest.raises(IdxFileError, match=f"{folder / images} holds labels, expected images"):
        IdxGzDataset(path=str(folder), url=None).load()


def test_missing_files_with_downloads_off_are_named(tmp_path):
    with pytest.raises(IdxFileError, match="does not exist and downloading is disabled"):
        IdxGzDataset(path=str(tmp_path / "fashion-mnist"), url=None).load()


@pytest.fixture(scope="module")
def served(fashion, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A local HTTP server over a folder: the four good files, and a `bad/` copy whose test
    labels are re-gzipped with changed contents (a download that is not Fashion-MNIST)."""
    site = tmp_path_factory.mktemp("site")
    shutil.copytree(fashion, site / "good")
    shutil.copytree(fashion, site / "bad")
    (site / "bad" / LABELS).write_bytes(gzip.compress(other_labels(decoded(fashion, LABELS))))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", site
    server.shutdown()
    server.server_close()


def test_missing_files_are_downloaded_checked_and_kept(served, tmp_path, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    url, site = served
    raw = tmp_path / "01_raw"
    arrays = LabelledImagesDataset(dataset="fashion_mnist", path=str(raw),
                                   fashion_mnist_url=f"{url}/good/").load()  # fmt: skip
    assert arrays["x_test"].shape == (10000, 28, 28)
    assert sorted(p.name for p in (raw / "fashion-mnist").iterdir()) == sorted(FASHION_FILES)
    for name in FASHION_FILES:
        assert digest(raw / "fashion-mnist" / name) == digest(site / "good" / name)


def test_a_download_that_is_not_fashion_mnist_is_discarded(served, tmp_path, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    url, _ = served
    folder = tmp_path / "fashion-mnist"
    with pytest.raises(IdxFileError) as raised:
        IdxGzDataset(path=str(folder), url=f"{url}/bad/").load()
    assert f"{url}/bad/{LABELS} (downloaded for {folder / LABELS})" in str(raised.value)
    assert "decodes to data with SHA-256" in str(raised.value)
    assert not (folder / LABELS).exists()
    assert not list(folder.glob(".*.part"))  # nothing partial left


def test_an_unknown_data_set_is_named_with_the_known_ones(tmp_path):
    with pytest.raises(
        Exception, match=r"Unknown data set 'cifar10'.*\['fashion_mnist', 'mnist'\]"
    ):
        LabelledImagesDataset(dataset="cifar10", path=str(tmp_path))


def test_a_gzip_bomb_is_refused_without_the_process_growing(tmp_path):
    """A labels file of a few hundred KB that inflates to 512 MB: refused at the size a labels
    file has (10,008 bytes), read no further. The whole file was inflated into memory (2 GiB
    of it: 5 GB)."""
    bomb = tmp_path / LABELS
    with gzip.open(bomb, "wb") as out:
        out.write((2049).to_bytes(4, "big") + (10000).to_bytes(4, "big"))
        for _ in range(32):
            out.write(bytes(1 << 24))
    code = (
        "from pathlib import Path\nfrom wgan_pipeline.datasets.idx_gz import read_idx_gz\n"
        f"def call():\n    read_idx_gz(Path({str(bomb)!r}), (10000,), None, 'fix')\n"
    )
    growth, error = memory_growth(code, tmp_path)
    assert "IdxFileError" in error and "holds more than 10000 bytes of data" in error
    assert growth < 64, f"grew by {growth:.0f} MB"
