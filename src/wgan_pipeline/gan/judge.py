"""The judge: a generator's digits scored by the data set's classifier against its test set, on
a fixed set of noise vectors, so the same generator always gets the same numbers and two epochs
(or two runs) under the same judge can be compared.

Training calls it every few epochs (the best epoch is kept); the final evaluation computes the
same metrics on more samples (pipelines/evaluation). Numbers from two different classifiers are
not comparable, so a judge has an ``identity``: a hash of its classifier's weights.
"""

from __future__ import annotations

import hashlib
from typing import Literal

import keras
import numpy as np

from .images import latent_noise, scale_images, unscale_images
from .metrics import scorecard
from .models import check_generator, feature_extractor, predict_in_batches


def model_identity(model: keras.Model) -> str:
    """A short hash of ``model``'s weights: two models with the same identity compute the same
    function (a saved and reloaded model keeps it)."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(str(weight.shape).encode())
        digest.update(np.ascontiguousarray(weight, dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]


def classifier_identity(classifier: keras.Model) -> str:
    """A judge's identity (``model_identity``): two judges with the same identity give the same
    numbers for the same images."""
    return model_identity(classifier)


def keeps(fid: float, lowest: float, within: float) -> bool:
    """Whether a new judging (FID ``fid``) becomes the kept one, given the lowest FID judged so
    far (``fid`` included) and the tolerance ``within`` (a fraction): it does when it is within
    ``within`` of the lowest. Applied to each judging in turn, this keeps the latest one within
    ``within`` of the lowest of all. Late in a run neighbouring epochs' FIDs differ by less than
    a judging's own noise; taking the latest of those, not the noise's pick, lets a rerun of the
    same command keep the same epoch. ``within`` 0 keeps the lowest (the latest of equals)."""
    return fid <= lowest * (1.0 + within)


def draw_digits(
    generator: keras.Model,
    n: int,
    noise: Literal["uniform", "normal"],
    seed: int,
    batch_size: int = 500,
) -> np.ndarray:
    """``n`` of ``generator``'s images as uint8 pixels (n, 28, 28), from noise fixed by ``seed``:
    the same generator always draws the same digits."""
    latent_dim = check_generator(generator)
    images = predict_in_batches(generator, latent_noise(n, latent_dim, noise, seed), batch_size)
    return unscale_images(images)


class Judge:
    """Scores a generator on ``n`` images drawn from fixed noise (seed ``seed``).

    FID is against the features of all of ``test_images``; precision, recall, density and
    coverage against a fixed random ``n`` of them (k-NN balls cost the square of the count);
    the MNIST score and the ten class shares come from the classifier's probabilities. The
    generated images go through uint8 pixels first, exactly as the saved samples do.
    """

    def __init__(
        self,
        classifier: keras.Model,
        test_images: np.ndarray,
        *,
        n: int,
        latent_dim: int,
        noise: Literal["uniform", "normal"],
        seed: int,
        batch_size: int,
        k_precision_recall: int,
        k_density_coverage: int,
        score_splits: int,
    ):
        self.extractor = feature_extractor(classifier)
        self.identity = classifier_identity(classifier)
        self.batch_size = batch_size
        self.settings = {"k_precision_recall": k_precision_recall, "score_splits": score_splits,
                         "k_density_coverage": k_density_coverage}  # fmt: skip
        self.noise = latent_noise(n, latent_dim, noise, seed)
        self.reference, _ = self.features(test_images)
        pick = np.random.default_rng(seed).permutation(len(test_images))[:n]
        self.manifold_reference = self.reference[np.sort(pick)]

    def features(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The classifier's features and class probabilities of uint8 ``images`` (N, 28, 28)."""
        return predict_in_batches(self.extractor, scale_images(images), self.batch_size)

    def score(self, images: np.ndarray) -> dict[str, float]:
        """The metric row (gan/metrics.py's ``scorecard``) of uint8 ``images``: generated ones,
        or real ones and noise for the floor and the ceiling."""
        features, probabilities = self.features(images)
        return scorecard(
            self.reference, self.manifold_reference, features, probabilities, **self.settings
        )

    def images(self, generator: keras.Model) -> np.ndarray:
        """The generator's uint8 images (n, 28, 28) from the judge's noise."""
        if check_generator(generator) != self.noise.shape[1]:
            raise ValueError(
                f"The generator '{generator.name}' takes noise of size {generator.input_shape[-1]}"
                f", the judge's is {self.noise.shape[1]}: judge it with its own latent_dim."
            )
        return unscale_images(predict_in_batches(generator, self.noise, self.batch_size))

    def __call__(self, generator: keras.Model) -> dict[str, float]:
        """The metric row of ``generator``'s images: fid, mnist_score (and its spread),
        precision, recall, density, coverage, rarest/commonest class share, share_0..9."""
        return self.score(self.images(generator))
