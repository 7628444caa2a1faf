"""Sample-quality metrics on known cases: tiny synthetic feature sets, closed-form answers."""

import numpy as np
import pytest
from scipy.linalg import sqrtm
from scipy.spatial.distance import cdist

from wgan_pipeline.gan.metrics import (
    class_shares,
    frechet_distance,
    mnist_score,
    prdc,
    scorecard,
)

CENTRES = np.random.default_rng(0).normal(0.0, 3.0, (10, 16))


def clusters(n: int, seed: int, classes: list[int] | None = None) -> np.ndarray:
    """``n`` float32 16-d points round the ten fixed CENTRES (or only ``classes``), in turn."""
    rng = np.random.default_rng(seed)
    labels = np.resize(classes if classes is not None else np.arange(10), n)
    return (CENTRES[labels] + rng.normal(0.0, 0.5, (n, 16))).astype(np.float32)


def one_hot(labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    return np.eye(n_classes)[labels]


# --- Frechet distance ---


def test_frechet_distance_of_a_set_with_itself_is_zero():
    features = clusters(300, seed=1)
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_of_a_mean_shift_is_its_squared_length():
    """Same covariances, so only |m_r - m_g|^2 = |d|^2 is left."""
    features = clusters(300, seed=1).astype(np.float64)
    shift = np.linspace(-1.0, 1.0, 16)
    assert frechet_distance(features, features + shift) == pytest.approx(shift @ shift, rel=1e-6)


def test_frechet_distance_is_symmetric_and_matches_the_sqrtm_formula():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(400, 8)) @ rng.normal(size=(8, 8))
    fake = rng.normal(size=(300, 8)) @ rng.normal(size=(8, 8)) + 0.5
    cov_r, cov_g = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    expected = np.sum((real.mean(0) - fake.mean(0)) ** 2) + np.trace(
        cov_r + cov_g - 2 * sqrtm(cov_r @ cov_g).real
    )
    assert frechet_distance(real, fake) == pytest.approx(expected, rel=1e-8)
    assert frechet_distance(fake, real) == pytest.approx(frechet_distance(real, fake), rel=1e-8)


def test_frechet_distance_is_a_real_non_negative_float_for_singular_covariances():
    """Fewer samples than features: singular covariances, where a plain sqrtm goes complex."""
    features = clusters(5, seed=3)
    assert type(frechet_distance(features, features)) is float
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(features, clusters(6, seed=4)) > 0


def test_frechet_distance_rejects_bad_input():
    features = clusters(20, seed=1)
    with pytest.raises(ValueError, match="real_features have 16 features but fake_features 8"):
        frechet_distance(features, features[:, :8])
    with pytest.raises(ValueError, match="fake_features must be 2-D"):
        frechet_distance(features, features[0])
    with pytest.raises(ValueError, match="real_features needs at least 2 samples"):
        frechet_distance(features[:1], features)
    with pytest.raises(ValueError, match="fake_features contains NaN"):
        frechet_distance(features, np.where(features > 5, np.nan, features))


# --- MNIST score and class shares ---


@pytest.mark.parametrize("n_used", [10, 5, 1])
def test_mnist_score_of_confident_balanced_predictions_is_the_number_of_classes(n_used):
    """Each split sees ``n_used`` classes equally often, each image certain: exp(log n_used)."""
    probabilities = one_hot(np.arange(200) % n_used)
    mean, std = mnist_score(probabilities, splits=10)
    assert mean == pytest.approx(n_used) and std == pytest.approx(0.0, abs=1e-9)


def test_mnist_score_of_identical_predictions_is_one():
    probabilities = np.tile(np.linspace(1.0, 2.0, 10) / np.linspace(1.0, 2.0, 10).sum(), (50, 1))
    assert mnist_score(probabilities, splits=5) == pytest.approx((1.0, 0.0), abs=1e-9)


def test_mnist_score_spreads_over_unequal_splits():
    """First half balanced (score 10), second half one class (score 1): mean 5.5, std 4.5."""
    labels = np.concatenate([np.arange(50) % 10, np.zeros(50, int)])
    assert mnist_score(one_hot(labels), splits=2) == pytest.approx((5.5, 4.5))


def test_mnist_score_rejects_bad_input():
    with pytest.raises(ValueError, match="rows must sum to 1"):
        mnist_score(np.random.default_rng(0).normal(size=(20, 10)) + 5)  # logits
    with pytest.raises(ValueError, match="must be 2-D"):
        mnist_score(np.full(10, 0.1))
    with pytest.raises(ValueError, match="splits must be between 1 and the 5 samples"):
        mnist_score(one_hot(np.arange(5)), splits=10)


def test_class_shares_of_a_one_class_set_fill_one_bin():
    shares = class_shares(one_hot(np.full(30, 3)) * 0.9 + 0.01)
    np.testing.assert_array_equal(shares, np.eye(10)[3])


def test_class_shares_count_labels_and_keep_empty_classes():
    shares = class_shares(np.array([0, 0, 1, 9]))
    np.testing.assert_allclose(shares, [0.5, 0.25, 0, 0, 0, 0, 0, 0, 0, 0.25])
    assert shares.shape == (10,) and shares.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(class_shares(np.arange(100) % 10), np.full(10, 0.1))


def test_class_shares_rejects_bad_input():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        class_shares(np.array([0, 10]))
    with pytest.raises(ValueError, match="4 columns, expected n_classes=10"):
        class_shares(np.ones((3, 4)) / 4)
    with pytest.raises(ValueError, match="1-D labels must be integers"):
        class_shares(np.array([0.2, 0.8]))
    with pytest.raises(ValueError, match="empty"):
        class_shares(np.array([], dtype=int))


# --- precision, recall, density, coverage ---


def brute_force_prdc(real, fake, k_pr, k_dc):
    """The papers' definitions over full distance matrices (scipy cdist), for small sets."""

    def radii(points, k):
        distances = cdist(points, points)
        np.fill_diagonal(distances, np.inf)  # a point is not its own neighbour
        return np.sort(distances, axis=1)[:, k - 1]

    real_fake = cdist(real, fake)
    return {
        "precision": (real_fake <= radii(real, k_pr)[:, None]).any(axis=0).mean(),
        "recall": (real_fake <= radii(fake, k_pr)[None, :]).any(axis=1).mean(),
        "density": (real_fake <= radii(real, k_dc)[:, None]).sum() / (k_dc * len(fake)),
        "coverage": (real_fake.min(axis=1) <= radii(real, k_dc)).mean(),
    }


def test_prdc_of_identical_sets():
    """Full precision, recall, coverage: each point lies in its own ball, at distance exactly 0
    whatever the BLAS kernel. Density about (k+1)/k: each point sits in its own ball and in the
    balls of the k points it is a k-nearest neighbour of; those k sit on a ball's boundary, a
    float tie that may go either way, so density is only bounded."""
    features = clusters(300, seed=1)
    scores = prdc(features, features, k_precision_recall=3, k_density_coverage=5)
    assert (scores["precision"], scores["recall"], scores["coverage"]) == (1.0, 1.0, 1.0)
    assert 1.0 + 1 / 5 - 0.02 <= scores["density"] <= 6 / 5 + 1e-12


def test_a_sample_equal_to_a_real_one_is_inside_its_ball_on_any_kernel():
    """Every real point has an exact twin, so with k = 1 its ball's radius is ~0: whatever
    rounding |a|^2 + |b|^2 - 2 a.b leaves there. A generated copy of it lies at distance 0 by
    definition, so it is inside; computed through the matrix product it rests on the kernel's
    rounding (features of magnitude 1,000 make that rounding large)."""
    unique = np.random.default_rng(0).normal(0, 1, (150, 16))
    unique[:75] += 1000
    unique[75:] -= 1000
    real = np.concatenate([unique, unique])
    scores = prdc(real, real.copy(), k_precision_recall=1, k_density_coverage=1)
    assert scores["precision"] == 1.0 and scores["coverage"] == 1.0


def test_prdc_hand_computed_on_a_line():
    """k = 1. Real 0, 1, 3 have radii 1, 1, 2 (the point itself excluded); fakes 4.5 and 10
    have radii 5.5. Only 4.5 lies in a real ball (of 3); every real lies in a fake ball."""
    real, fake = np.array([[0.0], [1.0], [3.0]]), np.array([[4.5], [10.0]])
    scores = prdc(real, fake, k_precision_recall=1, k_density_coverage=1)
    assert scores == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "density": 0.5, "coverage": 1 / 3}
    )


@pytest.mark.parametrize(("k_pr", "k_dc"), [(3, 5), (1, 2), (4, 4)])
def test_prdc_chunked_equals_the_full_matrix_definition(k_pr, k_dc):
    real = clusters(90, seed=5)
    noise = np.random.default_rng(7).uniform(real.min(0), real.max(0), (30, 16))
    fake = np.concatenate([clusters(40, seed=6), noise.astype(np.float32)])  # partly real-like
    expected = brute_force_prdc(real.astype(np.float64), fake.astype(np.float64), k_pr, k_dc)
    for chunk_rows in (7, 1000):
        scores = prdc(
            real, fake, k_precision_recall=k_pr, k_density_coverage=k_dc, chunk_rows=chunk_rows
        )
        assert scores == pytest.approx(expected)
    assert 0 < expected["precision"] < 1 and 0 < expected["coverage"] < 1


def test_a_one_class_generator_is_precise_but_has_low_recall_and_coverage():
    """Real: ten clusters. One generator draws all ten, the other only cluster 7."""
    real = clusters(500, seed=1)
    one_class, all_classes = clusters(200, seed=2, classes=[7]), clusters(200, seed=2)
    np.testing.assert_array_equal(class_shares(np.full(200, 7)), np.eye(10)[7])
    narrow, broad = prdc(real, one_class), prdc(real, all_classes)
    assert narrow["precision"] > 0.7 and broad["precision"] > 0.7
    assert narrow["recall"] < 0.2 and broad["recall"] > 0.8
    assert narrow["coverage"] < 0.2 and broad["coverage"] > 0.8


def test_noise_scores_worse_than_real_like_samples():
    reference = clusters(400, seed=1)
    real_like = clusters(400, seed=2)
    noise = (
        np.random.default_rng(3)
        .uniform(reference.min(0), reference.max(0), reference.shape)
        .astype(np.float32)
    )
    good, bad = prdc(reference, real_like), prdc(reference, noise)
    assert frechet_distance(reference, noise) > 5 * frechet_distance(reference, real_like)
    assert good["precision"] > 0.8 and bad["precision"] < 0.2
    assert good["density"] > bad["density"] and good["coverage"] > bad["coverage"]


def test_prdc_rejects_bad_input():
    features = clusters(20, seed=1)
    with pytest.raises(ValueError, match="real_features have 16 features but fake_features 8"):
        prdc(features, features[:, :8])
    with pytest.raises(ValueError, match="real_features must be 2-D"):
        prdc(features.ravel(), features)
    with pytest.raises(ValueError, match="real_features needs more than k=5 samples, got 5"):
        prdc(features[:5], features)
    with pytest.raises(ValueError, match="fake_features needs more than k=3 samples, got 3"):
        prdc(features, features[:3])
    with pytest.raises(ValueError, match="k_density_coverage must be at least 1"):
        prdc(features, features, k_density_coverage=0)


# --- the scorecard: the one row every judging reports ---


def test_the_scorecard_is_the_metrics_side_by_side_with_the_splits_capped_at_the_images():
    real, fake = clusters(60, seed=1), clusters(8, seed=2)
    manifold = real[:30]
    probabilities = one_hot(np.arange(8) % 10)
    card = scorecard(real, manifold, fake, probabilities, k_precision_recall=3,
                     k_density_coverage=5, score_splits=10)  # fmt: skip
    assert card["fid"] == frechet_distance(real, fake)
    assert (card["mnist_score"], card["mnist_score_std"]) == mnist_score(probabilities, splits=8)
    k = {"k_precision_recall": 3, "k_density_coverage": 5}
    assert {name: card[name] for name in ("precision", "recall", "density", "coverage")} == prdc(
        manifold, fake, **k
    )
    shares = class_shares(probabilities)
    assert [card[f"share_{d}"] for d in range(10)] == list(shares)
    assert (card["rarest_class_share"], card["commonest_class_share"]) == (0.0, 0.125)
