"""Model files that cannot be loaded are refused with the file, the fault and the fix, and kept;
a save that fails leaves nothing half-written."""

import errno
import zipfile
from pathlib import Path

import keras
import pytest
from kedro.io.core import DatasetError, Version

from wgan_pipeline.datasets import KerasModelDataset, keras_model


def small_model(*extra_layers) -> keras.Model:
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(2), *extra_layers])


@pytest.fixture
def saved(tmp_path):
    """A versioned dataset with one good saved version; returns (dataset, the version's file)."""
    dataset = KerasModelDataset(
        filepath=str(tmp_path / "generator.keras"), version=Version(None, None)
    )
    dataset.save(small_model())
    (version,) = (tmp_path / "generator.keras").iterdir()
    return dataset, version / "generator.keras"


def test_a_good_version_loads(saved):
    dataset, _ = saved
    assert dataset.load().output_shape == (None, 2)


@pytest.mark.parametrize(
    ("damage", "fault"),
    [
        (lambda data: data[: len(data) // 2], "corrupt or truncated"),
        (lambda data: b"not a zip at all", "corrupt or truncated"),
    ],
)
def test_a_corrupt_file_is_named_and_kept(saved, damage, fault):
    dataset, path = saved
    path.write_bytes(damage(path.read_bytes()))
    before = path.read_bytes()
    with pytest.raises(DatasetError) as info:
        dataset.load()
    message = str(info.value)
    assert str(path) in message and fault in message
    assert "--load-versions generator:<timestamp>" in message
    assert path.read_bytes() == before


def test_a_lambda_layer_is_refused_by_safe_mode(tmp_path):
    model = small_model(keras.layers.Lambda(lambda x: x * 2))
    plain = tmp_path / "lambda.keras"
    model.save(plain)
    dataset = KerasModelDataset(filepath=str(plain))
    with pytest.raises(DatasetError, match="Lambda layer .* safe_mode refuses to run"):
        dataset.load()
    assert plain.is_file()


def test_a_full_disk_while_saving_leaves_no_partial_version(tmp_path, monkeypatch):
    dataset = KerasModelDataset(
        filepath=str(tmp_path / "generator.keras"), version=Version(None, None)
    )
    dataset.save(small_model())
    (first,) = (tmp_path / "generator.keras").iterdir()
    before = (first / "generator.keras").read_bytes()

    later = KerasModelDataset(
        filepath=str(tmp_path / "generator.keras"), version=Version(None, None)
    )

    def full_disk(model, target, *args, **kwargs):
        Path(target).write_bytes(b"half a model")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(keras.saving, "save_model", full_disk)
    with pytest.raises(DatasetError, match="No space left on device. Nothing was left there"):
        later.save(small_model())
    assert [p.name for p in (tmp_path / "generator.keras").iterdir()] == [first.name]
    assert (first / "generator.keras").read_bytes() == before
    assert later.load().output_shape == (None, 2)  # the latest is still the good one


def test_a_save_killed_mid_write_leaves_the_previous_version_the_latest(tmp_path):
    """A kill while the file is written leaves only a hidden partial file in the new version
    folder, which is no version: loads still take the previous model."""
    root = tmp_path / "generator.keras"
    KerasModelDataset(filepath=str(root), version=Version(None, None)).save(small_model())
    (first,) = root.iterdir()
    killed = root / "2099-01-01T00.00.00.000Z"
    killed.mkdir()
    (killed / ".generator.keras.partial-1234.keras").write_bytes(b"half a model")
    dataset = KerasModelDataset(filepath=str(root), version=Version(None, None))
    assert Path(dataset._get_load_path()) == first / "generator.keras"
    assert dataset.load().output_shape == (None, 2)


def test_a_version_another_run_took_gets_a_fresh_one(tmp_path):
    """Two runs started in the same millisecond share a session timestamp: both saves land."""
    root = tmp_path / "generator.keras"
    taken = "2026-01-01T00.00.00.000Z"
    KerasModelDataset(filepath=str(root), version=Version(None, taken)).save(small_model())
    KerasModelDataset(filepath=str(root), version=Version(None, taken)).save(small_model())
    versions = sorted(p.name for p in root.iterdir())
    assert len(versions) == 2 and versions[0] == taken
    for version in versions:
        keras.saving.load_model(root / version / "generator.keras", safe_mode=True)


def test_a_model_file_that_inflates_past_any_model_is_refused_unread(saved, monkeypatch):
    """A zip member that decodes to far more than a model holds (here 64 MiB of zeros, with the
    cap lowered to 16 MiB; a real bomb inflates to gigabytes under the 1 GiB cap)."""
    monkeypatch.setattr(keras_model, "MAX_MODEL_BYTES", 16 << 20)
    dataset, path = saved
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("assets/padding.bin", bytes(64 << 20))
    before = path.read_bytes()
    with pytest.raises(DatasetError, match="decodes to 64 MiB, over the 16 MiB") as info:
        dataset.load()
    assert str(path) in str(info.value) and path.read_bytes() == before
