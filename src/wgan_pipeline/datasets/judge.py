"""The data set's judge: one classifier file and the card that says what it is.

Every FID in MLflow comes from the judge, so it is one artifact per data set, trained once and
kept: ``<name>.keras`` beside ``<name>.json`` (its hash, test accuracy and the settings it was
trained with). A save never replaces a complete judge, and a load checks the file against its
card, so the card logged with a run always describes the classifier that judged it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import keras
from kedro.io.core import AbstractDataset, DatasetError

from wgan_pipeline.durable import replace_atomically
from wgan_pipeline.gan.judge import classifier_identity

logger = logging.getLogger(__name__)


def card_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def _write_atomically(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        replace_atomically(path, write)
    except OSError as exc:
        raise DatasetError(
            f"Could not save '{path}': {exc.strerror or exc}. Nothing was left there; free some "
            "disk space and run again."
        ) from exc


class JudgeDataset(AbstractDataset[keras.Model, keras.Model]):
    """The judge's ``.keras`` file. ``missing_ok: true`` loads None where no complete judge is
    saved (the classifier node's input: it reuses a saved judge and trains one only if none is
    there)."""

    def __init__(self, *, filepath: str, missing_ok: bool = False, metadata=None) -> None:
        self.path = Path(filepath)
        self._missing_ok = missing_ok
        self.metadata = metadata

    @property
    def name(self) -> str:
        return self.path.stem

    def load(self) -> keras.Model | None:
        if not self._exists():
            if self._missing_ok:
                return None
            raise DatasetError(
                f"There is no judge at '{self.path}' (with its card '{card_path(self.path)}'). "
                "Train it with `kedro run --pipelines classifier` (add the --env you use), or "
                "run `kedro run`, which trains it first."
            )
        model = keras.saving.load_model(self.path, safe_mode=True)
        card = json.loads(card_path(self.path).read_text())
        if classifier_identity(model) != card.get("hash"):
            raise DatasetError(
                f"The judge '{self.path}' is not the classifier its card "
                f"'{card_path(self.path)}' describes (hash {classifier_identity(model)}, card "
                f"{card.get('hash')}): one of them was replaced. Delete both files and train the "
                "judge again with `kedro run --pipelines classifier`; FIDs of earlier runs will "
                "not compare with later ones."
            )
        return model

    def save(self, data: keras.Model) -> None:
        """Writes the model where no complete judge is; a saved judge is never replaced (two
        runs that trained one at once keep the first, and every later node loads that one)."""
        if self._exists():
            if classifier_identity(data) != json.loads(card_path(self.path).read_text())["hash"]:
                logger.warning(
                    "A judge was saved at '%s' meanwhile; it is kept and used.", self.path
                )
            return
        card_path(self.path).unlink(missing_ok=True)  # a card left without its judge
        _write_atomically(self.path, lambda partial: keras.saving.save_model(data, partial))

    def _exists(self) -> bool:
        return self.path.is_file() and card_path(self.path).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self.path), "missing_ok": self._missing_ok}


class JudgeCardDataset(AbstractDataset[dict, dict]):
    """The judge's card (JSON): ``hash``, ``test_accuracy``, ``dataset`` and ``settings``. Loads
    None where there is none; a saved card is never replaced (it belongs to the saved judge)."""

    def __init__(self, *, filepath: str, metadata=None) -> None:
        self.path = Path(filepath)
        self.metadata = metadata

    def load(self) -> dict | None:
        return json.loads(self.path.read_text()) if self.path.is_file() else None

    def save(self, data: dict) -> None:
        if self.path.is_file():
            return
        _write_atomically(
            self.path, lambda partial: partial.write_text(json.dumps(data, indent=2) + "\n")
        )

    def _exists(self) -> bool:
        return self.path.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self.path)}
