"""Sample-quality metrics on classifier features and probabilities, in plain NumPy.

No Inception weights offline, so an MNIST classifier stands in for Inception
(docs/algorithm.md, "Judging the digits"): its penultimate-layer features feed the
Frechet distance and precision/recall/density/coverage, its softmax probabilities the
MNIST score and the class shares. Numbers from different classifiers are not comparable:
always report the real-vs-real reference computed with the same classifier.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

_EPS = 1e-12
_CHUNK_ROWS = 1000


def frechet_distance(real_features: np.ndarray, fake_features: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (FID, Heusel et al. 2017).

    ``d^2 = |m_r - m_g|^2 + Tr(C_r + C_g - 2 (C_r C_g)^(1/2))``, with ``m`` the feature means and
    ``C`` the (unbiased) feature covariances of the real (r) and generated (g) sets.

    ``Tr((C_r C_g)^(1/2))`` is computed without a general matrix square root: ``C_r C_g`` is
    similar to the symmetric positive semi-definite ``S C_g S`` with ``S = C_r^(1/2)``, so the
    trace is the sum of the square roots of that matrix's eigenvalues. Both steps use the
    symmetric ``eigh`` in float64, with rounding-level negative eigenvalues clipped to 0, so the
    result is real and never negative.
    """
    real = _features(real_features, "real_features", min_samples=2)
    fake = _features(fake_features, "fake_features", min_samples=2)
    _same_width(real, fake)

    mean_r, mean_g = real.mean(axis=0), fake.mean(axis=0)
    cov_r, cov_g = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    cov_r, cov_g = np.atleast_2d(cov_r), np.atleast_2d(cov_g)  # a single feature gives a scalar

    eigval_r, eigvec_r = np.linalg.eigh(cov_r)
    sqrt_cov_r = (eigvec_r * np.sqrt(np.clip(eigval_r, 0.0, None))) @ eigvec_r.T
    middle = sqrt_cov_r @ cov_g @ sqrt_cov_r
    middle = (middle + middle.T) / 2  # symmetric up to rounding; make it exactly so
    trace_sqrt_product = np.sqrt(np.clip(np.linalg.eigvalsh(middle), 0.0, None)).sum()

    distance = (
        np.sum((mean_r - mean_g) ** 2)
        + np.trace(cov_r)
        + np.trace(cov_g)
        - 2.0 * trace_sqrt_product
    )
    return float(max(distance, 0.0))


def mnist_score(probabilities: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """MNIST score: the Inception Score (Salimans et al. 2016) with an MNIST classifier.

    ``score = exp(E_x KL(p(y|x) || p(y)))``, with ``p(y)`` the mean prediction over the split,
    computed on each of ``splits`` consecutive, near-equal splits (``np.array_split``, so no
    sample is dropped); returns the mean and the (population, ``ddof=0``) standard deviation of
    the split scores, as the original Inception Score code does (10 splits). TF-GAN's
    ``mnist_score`` / ``classifier_score`` scores all images at once: ``splits=1``.
    It ranges from 1 (every image gets the same prediction) to the number of classes
    (confident predictions, classes equally often). Logs are taken of probabilities clamped
    at 1e-12, so exact zeros are safe (``0 log 0 = 0``).
    """
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] < 1:
        raise ValueError(f"probabilities must be 2-D (samples, classes), got shape {probs.shape}")
    if not np.all(np.isfinite(probs)) or probs.min(initial=0.0) < 0:
        raise ValueError("probabilities must be finite and non-negative")
    if not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("probabilities rows must sum to 1 (softmax outputs, not logits)")
    if not 1 <= splits <= len(probs):
        raise ValueError(f"splits must be between 1 and the {len(probs)} samples, got {splits}")

    scores = []
    for part in np.array_split(probs, splits):
        marginal = part.mean(axis=0, keepdims=True)  # p(y)
        log_ratio = np.log(np.maximum(part, _EPS)) - np.log(np.maximum(marginal, _EPS))
        kl_divergence = np.sum(part * log_ratio, axis=1)  # KL(p(y|x) || p(y)) per sample
        scores.append(np.exp(kl_divergence.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def class_shares(probabilities_or_labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """Share of samples per predicted class, shape ``(n_classes,)``, summing to 1 (mode coverage).

    2-D input is class probabilities (or logits) ``(samples, n_classes)``, reduced with argmax;
    1-D input is integer labels in ``[0, n_classes)``. Classes never predicted get a 0 entry.
    """
    values = np.asarray(probabilities_or_labels)
    if n_classes < 1:
        raise ValueError(f"n_classes must be at least 1, got {n_classes}")
    if values.ndim == 2:
        if values.shape[1] != n_classes:
            raise ValueError(
                f"probabilities have {values.shape[1]} columns, expected n_classes={n_classes}"
            )
        labels = values.argmax(axis=1)
    elif values.ndim == 1:
        if not np.issubdtype(values.dtype, np.integer):
            raise ValueError(f"1-D labels must be integers, got dtype {values.dtype}")
        labels = values
    else:
        raise ValueError(f"expected 1-D labels or 2-D probabilities, got shape {values.shape}")
    if labels.size == 0:
        raise ValueError("no samples: cannot compute class shares of an empty set")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"labels must lie in [0, {n_classes}), got {labels.min()}..{labels.max()}")
    return np.bincount(labels, minlength=n_classes) / labels.size


def prdc(
    real_features: np.ndarray,
    fake_features: np.ndarray,
    *,
    k_precision_recall: int = 3,
    k_density_coverage: int = 5,
    chunk_rows: int = _CHUNK_ROWS,
) -> dict[str, float]:
    """Precision, recall, density and coverage of generated samples in feature space.

    Every sample ``x`` of a set gets a k-NN ball ``B(x, NND_k(x))``, with ``NND_k(x)`` the
    distance to its k-th nearest neighbour in the same set, the point itself excluded; the
    union of the balls estimates that set's manifold. Balls are closed (``<=``). With real
    samples ``X_i`` (N of them) and generated samples ``Y_j`` (M of them):

    - precision = (1/M) sum_j 1[Y_j in a ball of some X_i], k = ``k_precision_recall``
    - recall = (1/N) sum_i 1[X_i in a ball of some Y_j], k = ``k_precision_recall``
      (improved precision and recall, Kynkaanniemi et al. 2019)
    - density = (1/(k M)) sum_j sum_i 1[Y_j in B(X_i, NND_k(X_i))], k = ``k_density_coverage``
      (not bounded by 1: about 1 when both sets come from one distribution)
    - coverage = (1/N) sum_i 1[some Y_j in B(X_i, NND_k(X_i))], k = ``k_density_coverage``
      (Naeem et al. 2020, as clovaai/generative-evaluation-prdc)

    Squared distances come from ``|a|^2 + |b|^2 - 2 a.b`` (clipped at 0) on features centred on
    the real mean, in float32, ``chunk_rows`` rows at a time, and are compared squared, so memory
    stays near ``chunk_rows x max(N, M)`` float32 values (40 MB for 1,000 x 10,000). That formula
    leaves rounding where two vectors are equal, so a real and a generated vector that are the
    same get the distance they have by definition, exactly 0: whether a sample lies in its
    own ball never depends on the BLAS kernel's rounding.
    """
    real = _features(real_features, "real_features", min_samples=1)
    fake = _features(fake_features, "fake_features", min_samples=1)
    _same_width(real, fake)
    for name, k in (
        ("k_precision_recall", k_precision_recall),
        ("k_density_coverage", k_density_coverage),
    ):
        if k < 1:
            raise ValueError(f"{name} must be at least 1, got {k}")
    k_real = max(k_precision_recall, k_density_coverage)
    if len(real) <= k_real:
        raise ValueError(f"real_features needs more than k={k_real} samples, got {len(real)}")
    if len(fake) <= k_precision_recall:
        raise ValueError(
            f"fake_features needs more than k={k_precision_recall} samples, got {len(fake)}"
        )
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")

    # Centring on a common point changes no distance but keeps |a|^2 + |b|^2 - 2 a.b accurate.
    # float32 then halves the memory and time of the distance matrices.
    centre = real.mean(axis=0)
    real, fake = (real - centre).astype(np.float32), (fake - centre).astype(np.float32)

    real_radii_pr, real_radii_dc = _knn_radii_squared(
        real, (k_precision_recall, k_density_coverage), chunk_rows
    )
    (fake_radii_pr,) = _knn_radii_squared(fake, (k_precision_recall,), chunk_rows)

    fake_in_real_manifold = np.zeros(len(fake), dtype=bool)
    fake_ball_counts = np.zeros(len(fake), dtype=np.int64)
    real_in_fake_manifold = np.zeros(len(real), dtype=bool)
    real_covered = np.zeros(len(real), dtype=bool)
    equal = _equal_rows(real, fake)
    for rows, dist in _squared_distances(real, fake, chunk_rows):  # real rows x all fake
        here = equal[(equal[:, 0] >= rows.start) & (equal[:, 0] < rows.stop)]
        dist[here[:, 0] - rows.start, here[:, 1]] = 0.0
        fake_in_real_manifold |= (dist <= real_radii_pr[rows, None]).any(axis=0)
        fake_ball_counts += (dist <= real_radii_dc[rows, None]).sum(axis=0)
        real_in_fake_manifold[rows] = (dist <= fake_radii_pr[None, :]).any(axis=1)
        real_covered[rows] = dist.min(axis=1) <= real_radii_dc[rows]

    return {
        "precision": float(fake_in_real_manifold.mean()),
        "recall": float(real_in_fake_manifold.mean()),
        "density": float(fake_ball_counts.sum() / (k_density_coverage * len(fake))),
        "coverage": float(real_covered.mean()),
    }


def scorecard(
    reference_features: np.ndarray,
    manifold_reference: np.ndarray,
    features: np.ndarray,
    probabilities: np.ndarray,
    *,
    k_precision_recall: int,
    k_density_coverage: int,
    score_splits: int,
) -> dict[str, float]:
    """The metric row of one image set, the one every judging reports: FID against
    ``reference_features``; the MNIST score (mean and spread over ``score_splits`` splits, at
    most one per image) and the predicted-class shares from ``probabilities``; precision,
    recall, density and coverage against ``manifold_reference`` (all of the reference, or a
    sample of it: k-NN balls cost the square of the count)."""
    score, score_std = mnist_score(probabilities, splits=min(score_splits, len(probabilities)))
    shares = class_shares(probabilities)
    k = {"k_precision_recall": k_precision_recall, "k_density_coverage": k_density_coverage}
    return {
        "fid": frechet_distance(reference_features, features),
        "mnist_score": score,
        "mnist_score_std": score_std,
        "rarest_class_share": float(shares.min()),
        "commonest_class_share": float(shares.max()),
        **prdc(manifold_reference, features, **k),
        **{f"share_{digit}": float(share) for digit, share in enumerate(shares)},
    }


def _knn_radii_squared(
    points: np.ndarray, ks: tuple[int, ...], chunk_rows: int
) -> tuple[np.ndarray, ...]:
    """Squared distance of every point to its k-th nearest other point, for each k in ``ks``."""
    radii = [np.empty(len(points), dtype=points.dtype) for _ in ks]
    for rows, dist in _squared_distances(points, points, chunk_rows):
        dist[np.arange(dist.shape[0]), np.arange(rows.start, rows.stop)] = np.inf  # not itself
        kth = [k - 1 for k in ks]  # 0-based, self gone
        dist.partition(kth, axis=1)  # in place: the chunk is not needed afterwards
        for radius, index in zip(radii, kth, strict=True):
            radius[rows] = dist[:, index]
    return tuple(radii)


def _equal_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The index pairs (i, j), as a (pairs, 2) array, with a[i] == b[j] bit for bit."""
    where_in_b: dict[bytes, list[int]] = {}
    for j, row in enumerate(b):
        where_in_b.setdefault(row.tobytes(), []).append(j)
    pairs = [(i, j) for i, row in enumerate(a) for j in where_in_b.get(row.tobytes(), ())]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def _squared_distances(
    a: np.ndarray, b: np.ndarray, chunk_rows: int
) -> Iterator[tuple[slice, np.ndarray]]:
    """Row chunks of the squared Euclidean distance matrix between ``a`` and ``b``."""
    norms_b = np.einsum("ij,ij->i", b, b)
    for start in range(0, len(a), chunk_rows):
        rows = slice(start, min(start + chunk_rows, len(a)))
        chunk = a[rows]
        dist = chunk @ b.T
        dist *= -2
        dist += np.einsum("ij,ij->i", chunk, chunk)[:, None]
        dist += norms_b[None, :]
        np.maximum(dist, 0, out=dist)
        yield rows, dist


def _features(values: np.ndarray, name: str, min_samples: int) -> np.ndarray:
    """``values`` as a finite float64 (samples, features) array, or a ValueError naming it."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples, features), got shape {array.shape}")
    if array.shape[1] < 1:
        raise ValueError(f"{name} has no feature columns, shape {array.shape}")
    if len(array) < min_samples:
        raise ValueError(f"{name} needs at least {min_samples} samples, got {len(array)}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _same_width(real: np.ndarray, fake: np.ndarray) -> None:
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"real_features have {real.shape[1]} features but fake_features {fake.shape[1]}"
        )


def targets_met(
    generated: Mapping[str, float], floor_fid: float, targets: Mapping[str, float]
) -> dict[str, bool]:
    """Which of the four quality targets a scorecard (``scorecard``'s keys) meets, each named as
    a person reads it (``FID ≤ 3× floor``): FID within ``fid_times_floor`` times the real images'
    (``floor_fid``), every class's share within [``class_share_low``, ``class_share_high``],
    precision and recall at least theirs."""
    low, high = targets["class_share_low"], targets["class_share_high"]
    return {
        f"FID ≤ {targets['fid_times_floor']:g}× floor": generated["fid"]
        <= targets["fid_times_floor"] * floor_fid,
        f"every class {low:.0%}–{high:.0%}": low <= generated["rarest_class_share"]
        and generated["commonest_class_share"] <= high,
        f"precision ≥ {targets['precision']:g}": generated["precision"] >= targets["precision"],
        f"recall ≥ {targets['recall']:g}": generated["recall"] >= targets["recall"],
    }
