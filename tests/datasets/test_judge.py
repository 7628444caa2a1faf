"""The judge is one artifact per data set: trained once, never replaced by a save, and always
the classifier its card describes."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from kedro.io.core import DatasetError

from wgan_pipeline.datasets import JudgeCardDataset, JudgeDataset
from wgan_pipeline.gan.judge import classifier_identity
from wgan_pipeline.gan.models import build_classifier
from wgan_pipeline.params import ClassifierParams, DataParams
from wgan_pipeline.pipelines.classifier.nodes import train_classifier

from ..helpers import base_params

DATA = DataParams(dataset="mnist", max_train_images=None)


def classifier(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return build_classifier(8, name="mnist_classifier")


def card_of(card_hash: str) -> dict:
    return {"dataset": "mnist", "hash": card_hash, "test_accuracy": 0.99, "settings": {}}


def save(folder, model, card_hash=None) -> tuple[JudgeDataset, JudgeCardDataset]:
    judge = JudgeDataset(filepath=str(folder / "judge.keras"))
    card = JudgeCardDataset(filepath=str(folder / "judge.json"))
    judge.save(model)
    card.save(card_of(card_hash or classifier_identity(model)))
    return judge, card


def test_a_missing_judge_names_the_command_or_loads_none(tmp_path):
    with pytest.raises(DatasetError, match=r"no judge at .*`kedro run --pipelines classifier`"):
        JudgeDataset(filepath=str(tmp_path / "judge.keras")).load()
    assert JudgeDataset(filepath=str(tmp_path / "judge.keras"), missing_ok=True).load() is None


def test_a_saved_judge_is_never_replaced(tmp_path):
    first = classifier(0)
    judge, card = save(tmp_path, first)
    judge.save(classifier(1))  # another run's judge, saved later
    card.save(card_of(classifier_identity(classifier(1))))
    assert classifier_identity(judge.load()) == classifier_identity(first)
    assert card.load()["hash"] == classifier_identity(first)


def test_a_judge_that_is_not_what_its_card_says_is_refused(tmp_path):
    judge, _ = save(tmp_path, classifier(0), card_hash="0123456789abcdef")
    with pytest.raises(DatasetError, match="not the classifier its card"):
        judge.load()


def test_a_judge_without_its_card_is_incomplete_and_trained_again(tmp_path):
    judge, card = save(tmp_path, classifier(0))
    (tmp_path / "judge.json").unlink()  # killed between the two saves
    assert JudgeDataset(filepath=str(tmp_path / "judge.keras"), missing_ok=True).load() is None
    judge.save(classifier(1))
    card.save(card_of(classifier_identity(classifier(1))))
    assert classifier_identity(judge.load()) == classifier_identity(classifier(1))


def test_the_node_reuses_a_saved_judge_and_trains_one_only_when_none_is_saved(tiny_mnist):
    params = ClassifierParams(**base_params("classifier", epochs=1, max_train_images=32,
                                            min_test_accuracy={"mnist": 0.0}))  # fmt: skip
    saved = classifier(0)
    weights = [w.copy() for w in saved.get_weights()]
    reused, card = train_classifier(tiny_mnist, params, DATA, saved)
    assert reused is saved
    assert all(np.array_equal(a, b) for a, b in zip(weights, reused.get_weights()))  # untrained
    assert card["hash"] == classifier_identity(saved)
    # how it was trained; its floor is a check on it, not a setting
    assert card["settings"] == params.model_dump(exclude={"min_test_accuracy"})
    assert 0 <= card["test_accuracy"] <= 1 and card["dataset"] == "mnist"

    trained, card = train_classifier(tiny_mnist, params, DATA, None)
    assert trained.name == "mnist_classifier" and card["hash"] == classifier_identity(trained)
