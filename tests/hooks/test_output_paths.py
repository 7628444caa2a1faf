"""check_output_paths (ConfigChecksHook, before the run opens): a catalog path the run could
not write stops it before any node."""

import os
from pathlib import Path

import pytest
from kedro.pipeline import node, pipeline

from wgan_pipeline.hooks.output_paths import (
    OutputPathError,
    catalog_paths,
    check_output_paths,
    output_root_fault,
    path_fault,
)


def identity(x):
    return x


def run_check(conf_catalog: dict, *names: str) -> None:
    nodes = [node(identity, "raw", names[0], name="first")]
    nodes += [node(identity, a, b, name=f"to_{b}") for a, b in zip(names, names[1:])]
    check_output_paths(pipeline(nodes), conf_catalog)


def test_nested_and_versioned_entries_give_their_paths(tmp_path):
    entry = {"type": "MlflowArtifactDataset", "dataset": {"filepath": str(tmp_path / "a.csv")}}
    assert catalog_paths(entry) == [(tmp_path / "a.csv", False)]
    assert catalog_paths({"filepath": "m.keras", "versioned": True}) == [(Path("m.keras"), True)]
    assert catalog_paths({"path": "checkpoints"}) == [(Path("checkpoints"), True)]
    assert catalog_paths({"filepath": "s3://bucket/a.csv"}) == []  # not local
    assert catalog_paths({"type": "MemoryDataset"}) == []


def test_a_file_where_an_output_folder_should_be_is_named_and_kept(tmp_path):
    reporting = tmp_path / "data" / "08_reporting"
    reporting.parent.mkdir()
    reporting.write_text("my notes")
    catalog = {"grid": {"dataset": {"filepath": str(reporting / "grid.png")}}}
    with pytest.raises(
        OutputPathError, match=f"{reporting} should be a folder but is a file.*'grid'"
    ):
        run_check(catalog, "grid")
    assert reporting.read_text() == "my notes"


def test_a_versioned_path_that_is_a_file_or_a_file_path_that_is_a_folder_is_named(tmp_path):
    (tmp_path / "generator.keras").write_text("not a folder of versions")
    (tmp_path / "samples.npy").mkdir()
    catalog = {
        "generator": {"filepath": str(tmp_path / "generator.keras"), "versioned": True},
        "samples": {"filepath": str(tmp_path / "samples.npy")},
    }  # fmt: skip
    with pytest.raises(OutputPathError) as raised:
        run_check(catalog, "generator", "samples")
    message = str(raised.value)
    assert "generator.keras should be a folder (one per saved version) but is a file" in message
    assert "samples.npy should be a file but is a folder" in message
    assert "nothing was run" in message


def test_paths_that_can_be_written_pass(tmp_path):
    catalog = {
        "raw": {"filepath": str(tmp_path / "01_raw" / "mnist.npz")},
        "generator": {"filepath": str(tmp_path / "06" / "generator.keras"), "versioned": True},
    }  # fmt: skip
    run_check(catalog, "generator")
    assert not (tmp_path / "06").exists()  # the check creates nothing


def test_a_folder_that_cannot_be_written_is_named(tmp_path):
    if os.geteuid() == 0:  # root writes anything, except on a read-only file system
        folder = Path("/proc/sys/kernel")  # read-only to root in containers
        if not folder.is_dir() or os.access(folder, os.W_OK):
            pytest.skip("running as root with no read-only file system to write to")
    else:
        folder = tmp_path / "locked"
        folder.mkdir()
        (folder / "mnist.npz").write_text("data")
        (folder / "mnist.npz").chmod(0o444)
        folder.chmod(0o555)
        existing = folder / "mnist.npz"  # an input that is there needs nothing; an output does
        assert path_fault(existing, is_folder=False, written=False) is None
        assert path_fault(existing, is_folder=False) == f"{existing} is not writable by this user"
    assert path_fault(folder / "x.csv", is_folder=False) == (
        f"{folder} is a folder this user cannot write"
    )


@pytest.mark.parametrize(
    ("root", "fault"),
    [
        ("/", "which holds other things"),
        ("/usr", "which holds other things"),
        ("data/01_raw", "inside data/01_raw"),
        ("data/01_raw/fashion-mnist/more", "inside data/01_raw"),
        ("conf", "inside conf/, the project's own files"),
        ("conf/base/out", "inside conf/"),  # `kedro package` would ship the outputs
        ("src/outputs", "inside src/"),
        (".git/out", "inside .git/"),
        ("hidden_only", "which holds other things (.env)"),  # hidden files count
        (".", "which holds other things"),
        ("/nonexistent-wgan-output", "outside the project that does not exist"),
        ("x" * 300, "over the 255 a file system allows"),
        ("a\0b", "not a usable folder path"),
        ("linked", "which holds other things"),  # a link inside the project to /
    ],
)
def test_an_output_root_that_is_no_folder_for_outputs_is_refused(tmp_path, root, fault):
    (tmp_path / "data" / "01_raw").mkdir(parents=True)
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "catalog.yml").write_text("")
    (tmp_path / "linked").symlink_to("/")
    (tmp_path / "hidden_only").mkdir()
    (tmp_path / "hidden_only" / ".env").write_text("SECRET=1")
    assert fault in output_root_fault(root, tmp_path)


def test_the_project_data_folder_or_a_folder_made_for_outputs_is_accepted(tmp_path):
    project, mine = tmp_path / "project", tmp_path / "mine"
    (project / "data" / "01_raw").mkdir(parents=True)
    mine.mkdir()
    for root in ("data", "data/sweeps/s/t", "runs/new", str(mine)):
        assert output_root_fault(root, project) is None, root
    (mine / "06_models").mkdir()  # a folder used before as an output root
    assert output_root_fault(str(mine), project) is None
