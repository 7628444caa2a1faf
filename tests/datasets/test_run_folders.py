"""RunFoldersDataset: the checkpoint folder, created when missing; a file in its place is
refused."""

import pytest
from kedro.io import DatasetError

from wgan_pipeline.datasets import RunFoldersDataset


def test_the_folder_is_created_and_loads_as_its_run_folders(tmp_path):
    assert RunFoldersDataset(str(tmp_path / "a" / "b")).load().root == tmp_path / "a" / "b"
    assert (tmp_path / "a" / "b").is_dir()


def test_a_file_where_the_folder_should_be_is_named_and_kept(tmp_path):
    path = tmp_path / "checkpoints"
    path.write_text("not a folder")
    with pytest.raises(DatasetError, match="checkpoints should be a folder .* but is a file"):
        RunFoldersDataset(str(path)).load()
    assert path.read_text() == "not a folder"
