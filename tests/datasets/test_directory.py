"""DirectoryDataset: a working folder, created when missing; a file in its place is refused."""

import pytest
from kedro.io import DatasetError

from wgan_pipeline.datasets import DirectoryDataset


def test_the_folder_is_created_and_loads_as_its_path(tmp_path):
    assert DirectoryDataset(str(tmp_path / "a" / "b")).load() == tmp_path / "a" / "b"
    assert (tmp_path / "a" / "b").is_dir()


def test_a_file_where_the_folder_should_be_is_named_and_kept(tmp_path):
    path = tmp_path / "checkpoints"
    path.write_text("not a folder")
    with pytest.raises(DatasetError, match="checkpoints should be a folder .* but is a file"):
        DirectoryDataset(str(path)).load()
    assert path.read_text() == "not a folder"
