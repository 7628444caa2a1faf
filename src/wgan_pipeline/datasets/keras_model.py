"""Keras model files that fail to load say which file, what is wrong and what to do."""

from __future__ import annotations

import contextlib
import os
import time
import warnings
import zipfile
from pathlib import Path, PurePosixPath

import keras
from kedro.io.core import DatasetError, Version, generate_timestamp
from kedro_datasets.tensorflow import TensorFlowModelDataset

from wgan_pipeline.durable import replace_atomically

# What a model file may decode to: this project's largest network (the classifier or a DCGAN
# critic) is a few MB; a file past this is refused unread instead of filling the memory.
MAX_MODEL_BYTES = 1 << 30

# Kedro compares the load version with the save version it chose before the save; a save that
# took a fresh version (_save_path) loads that one, so Kedro's "did not match" is then untrue.
warnings.filterwarnings(
    "ignore", r"Save version .* for wgan_pipeline\.datasets\.keras_model\.KerasModelDataset"
)
# The same for the training record, a versioned JSON a later node reads from memory
# (CachedDataset): what it gets is this run's, whatever the latest folder holds.
warnings.filterwarnings("ignore", r"Save version .* for kedro_datasets\.json\.json_dataset")


class KerasModelDataset(TensorFlowModelDataset):
    """kedro-datasets' ``TensorFlowModelDataset`` (.keras files, ``safe_mode`` loading) whose load
    errors name the version file and the fault: a corrupt or truncated file, or a Lambda layer
    (code inside the file, which safe_mode refuses to run), instead of a temporary path; whose
    failed save (a full disk) leaves no partial file behind to be loaded as the latest; and
    which, once it has saved a version, loads that version, not the latest folder (another
    run's, saved meanwhile), so a run evaluates and registers exactly what it trained."""

    def save(self, data: keras.Model) -> None:
        """Write the model beside its final name, flush it to disk, then rename it into place:
        a kill or a full disk mid-write leaves no partial file where a load would find it (a
        version folder without the file is not a version), and earlier versions stay."""
        path = Path(self._save_path())
        _remove_dead_partials(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            replace_atomically(path, lambda p: keras.saving.save_model(data, p, **self._save_args))
            if self._version is not None:  # this run's loads read what it saved
                self._version = Version(path.parent.name, path.parent.name)
        except OSError as exc:
            with contextlib.suppress(OSError):
                path.parent.rmdir()  # the version folder, if this save made it and it is empty
            raise DatasetError(
                f"Could not save the model to '{path}': {exc.strerror or exc}. Nothing was left "
                "there, and earlier versions are untouched. Free some disk space and run again."
            ) from exc

    def _save_path(self) -> str:
        """The version's path; a fresh version when another process took this one (two
        `kedro run`s started in the same millisecond get the same session timestamp)."""
        try:
            return self._get_save_path()
        except DatasetError as exc:
            if (
                self._version is None
                or self._version.save is None
                or ("must not exist" not in str(exc))
            ):
                raise
            taken = self._version.save
            while (fresh := generate_timestamp()) <= taken:
                time.sleep(0.001)
            self._version = Version(self._version.load, fresh)
            return self._get_save_path()

    def load(self) -> keras.Model:
        path = PurePosixPath(self._get_load_path())
        decoded = _decoded_size(Path(path)) if self._protocol == "file" else 0
        if decoded > MAX_MODEL_BYTES:
            raise DatasetError(
                f"Model file '{path}' decodes to {decoded / 2**20:.0f} MiB, over the "
                f"{MAX_MODEL_BYTES >> 20} MiB any model of this project holds: it is not one "
                "of them (a zip bomb?) and was not loaded. It is left as it is."
            )
        try:
            return TensorFlowModelDataset.load.__wrapped__(self)  # the plain load, unwrapped
        except Exception as exc:
            raise DatasetError(self._explain(path, exc)) from exc

    def _explain(self, path: PurePosixPath, exc: Exception) -> str:
        text = str(exc)
        if "Lambda" in text or "safe_mode" in text:
            fault = (
                "holds a Lambda layer (code stored in the file), which safe_mode refuses to "
                "run: this project never executes code from a model file"
            )
        elif "zip" in text or "File not found" in text or "truncated" in text:
            fault = "is not a valid .keras file (a zip archive): it is corrupt or truncated"
        else:
            fault = f"cannot be loaded as a Keras model ({type(exc).__name__}: {text[:300]})"
        name = path.name.removesuffix(".keras")
        return (
            f"Model file '{path}' {fault}. It is left as it is. Train a new one "
            f"(`kedro run`), or load an earlier version with "
            f"`kedro run --load-versions {name}:<timestamp>` (the versions are the folders of "
            f"'{path.parent.parent}')."
        )


def _decoded_size(path: Path) -> int:
    """The size a .keras file (a zip) says it decodes to; Python's zipfile reads no member
    past its stated size. 0 when it is no zip (the load says what is wrong)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(member.file_size for member in archive.infolist())
    except (OSError, zipfile.BadZipFile):
        return 0


def _remove_dead_partials(path: Path) -> None:
    """Partial files that killed saves left in other version folders of this dataset (their
    process is gone), and the version folders they leave empty."""
    for partial in path.parent.parent.glob(f"*/.{path.name}.partial-*.keras"):
        pid = partial.name.removesuffix(".keras").rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            partial.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                partial.parent.rmdir()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
