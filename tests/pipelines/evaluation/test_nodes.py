import numpy as np
import pytest
from pydantic import ValidationError

from wgan_pipeline.gan.models import build_classifier, build_critic, build_generator
from wgan_pipeline.params import DataParams, EvaluationParams
from wgan_pipeline.pipelines.evaluation.nodes import extract_features, generate_samples

from ...helpers import base_params


def evaluation(**overrides) -> EvaluationParams:
    return EvaluationParams(**base_params("evaluation", **overrides))


MNIST = DataParams(dataset="mnist", max_train_images=None)
FASHION = DataParams(dataset="fashion_mnist", max_train_images=None)


def test_samples_are_pixels_and_reproducible_from_the_seed():
    generator = build_generator(100)
    params = evaluation(seed=7, n_samples=12, batch_size=5)
    first = generate_samples(generator, params, "uniform", MNIST)
    assert first.dtype == np.uint8 and first.shape == (12, 28, 28)
    np.testing.assert_array_equal(first, generate_samples(generator, params, "uniform", MNIST))
    other = generate_samples(generator, params.model_copy(update={"seed": 8}), "uniform", MNIST)
    assert not np.array_equal(first, other)


def test_evaluation_params_forbid_unknown_keys():
    with pytest.raises(ValidationError, match="n_sample"):
        EvaluationParams.model_validate({"n_sample": 10})


def test_a_model_that_is_not_a_generator_is_refused_by_name():
    critic = build_critic()  # (None, 28, 28, 1) -> (None, 1)
    with pytest.raises(ValueError, match="'critic' maps .* not noise .* to MNIST images"):
        generate_samples(critic, evaluation(n_samples=20), "uniform", MNIST)


def test_a_model_that_is_not_the_classifier_is_refused(tiny_mnist):
    with pytest.raises(
        ValueError, match=r"no .features. layer .* `kedro run --pipelines classifier`"
    ):
        extract_features(build_critic(), tiny_mnist, np.zeros((2, 28, 28), np.uint8),
                         evaluation(n_reference=10), MNIST)  # fmt: skip


def test_more_references_than_mnist_has_is_explained(tiny_mnist):
    classifier = build_classifier(feature_dim=8)
    with pytest.raises(ValueError, match="n_reference is 100 but mnist has only 64 .* lower"):
        extract_features(classifier, tiny_mnist, np.zeros((2, 28, 28), np.uint8),
                         evaluation(n_reference=100), MNIST)  # fmt: skip


def test_another_data_sets_classifier_or_generator_is_refused_by_name(tiny_mnist):
    """FIDs from another data set's judge mean nothing; its generator draws the wrong things."""
    mnist_judge = build_classifier(feature_dim=8, name="mnist_classifier")
    with pytest.raises(ValueError, match="classifier 'mnist_classifier' was trained on mnist, but"
                                         " this run's data.dataset is fashion_mnist"):  # fmt: skip
        extract_features(mnist_judge, tiny_mnist, np.zeros((2, 28, 28), np.uint8),
                         evaluation(n_reference=10), FASHION)  # fmt: skip
    fashion_generator = build_generator(100, name="fashion_mnist_generator")
    with pytest.raises(ValueError, match="--params data.dataset=fashion_mnist"):
        generate_samples(
            fashion_generator, evaluation(n_samples=20, batch_size=10), "uniform", MNIST
        )
    older = build_generator(100)  # an older file's plain name says nothing: accepted
    params = evaluation(n_samples=20, batch_size=10)
    assert generate_samples(older, params, "uniform", FASHION).shape == (20, 28, 28)
