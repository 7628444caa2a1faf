"""The data set's judge: one classifier file and the card that says what it is.

Every FID in MLflow comes from the judge, so it is one artifact per data set, trained once and
kept: ``<name>.keras`` beside ``<name>.json`` (its hash, test accuracy and the settings it was
trained with). A save never replaces a complete judge, and a load checks the file against its
card, so the card logged with a run always describes the classifier that judged it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import keras
from kedro.io.core import AbstractDataset, DatasetError

from wgan_pipeline.durable import replace_atomically
from wgan_pipeline.errors import Refused
from wgan_pipeline.gan.judge import classifier_identity

logger = logging.getLogger(__name__)


CARD_KEYS = ("dataset", "hash", "test_accuracy", "settings")
START_OVER = (
    "Restore it, or delete the judge and its card (.keras and .json) to train a new one with "
    "`kedro run --pipelines classifier`; FIDs of earlier runs will not compare with later ones."
)


class JudgeFileError(Refused, DatasetError):
    """The judge's file or card is damaged, or they do not belong together."""


def card_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def seal(card: dict) -> str:
    """A checksum of the card's figures: a card edited after it was written (its accuracy made
    0.9999) no longer matches it."""
    figures = json.dumps({k: card.get(k) for k in CARD_KEYS}, sort_keys=True)
    return hashlib.sha256(figures.encode()).hexdigest()[:16]


def read_card(path: Path) -> dict:
    """The card at ``path``, checked: JSON, an object, with every key, its figures as written
    (its ``seal``; a card written before seals is checked for the rest)."""
    try:
        card = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JudgeFileError(
            f"The judge's card {path} cannot be read ({exc}). {START_OVER}"
        ) from None
    if not isinstance(card, dict):
        raise JudgeFileError(
            f"The judge's card {path} holds a {type(card).__name__}, not the card's object "
            f"({', '.join(CARD_KEYS)}). {START_OVER}"
        )
    missing = [k for k in CARD_KEYS if k not in card]
    if missing or not isinstance(card.get("settings"), dict):
        raise JudgeFileError(
            f"The judge's card {path} lacks {missing or ['settings (an object)']}. {START_OVER}"
        )
    if "seal" in card and card["seal"] != seal(card):
        raise JudgeFileError(
            f"The judge's card {path} was changed after it was written: its figures (test "
            f"accuracy {card['test_accuracy']}, ...) do not match its seal. {START_OVER}"
        )
    return card


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
        if self.path.is_file() and not card_path(self.path).is_file() and not self._missing_ok:
            raise JudgeFileError(
                f"The judge {self.path} has no card beside it ({card_path(self.path)} is "
                "missing: deleted, or a run was killed between saving the two), so what it is "
                "cannot be checked. Train the judge again with `kedro run --pipelines "
                "classifier` (add the --env you use; the classifier replaces a judge without a "
                "card); FIDs of earlier runs will not compare with later ones."
            )
        if not self._exists():
            if self._missing_ok:
                return None
            raise DatasetError(
                f"There is no judge at '{self.path}' (with its card '{card_path(self.path)}'). "
                "Train it with `kedro run --pipelines classifier` (add the --env you use), or "
                "run `kedro run`, which trains it first."
            )
        try:
            model = keras.saving.load_model(self.path, safe_mode=True)
        except Exception as exc:  # noqa: BLE001 (a damaged zip: Keras, zipfile, h5py errors)
            raise JudgeFileError(
                f"The judge {self.path} cannot be loaded: it is damaged "
                f"({type(exc).__name__}: {str(exc)[:200]}). {START_OVER}"
            ) from None
        card = read_card(card_path(self.path))
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
            if classifier_identity(data) != read_card(card_path(self.path))["hash"]:
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
    """The judge's card (JSON): ``hash``, ``test_accuracy``, ``dataset``, ``settings`` and the
    ``seal`` of those figures. Loads None where there is none, and refuses a damaged or edited
    one naming the file; a saved card is never replaced (it belongs to the saved judge)."""

    def __init__(self, *, filepath: str, metadata=None) -> None:
        self.path = Path(filepath)
        self.metadata = metadata

    def load(self) -> dict | None:
        return read_card(self.path) if self.path.is_file() else None

    def save(self, data: dict) -> None:
        if self.path.is_file():
            return
        sealed = {**data, "seal": seal(data)}
        _write_atomically(
            self.path, lambda partial: partial.write_text(json.dumps(sealed, indent=2) + "\n")
        )

    def _exists(self) -> bool:
        return self.path.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self.path)}
