"""The WGAN step: the constraint holds and both networks move the way the paper says."""

import keras
import numpy as np
import pytest
from keras import ops

from wgan_pipeline.gan.models import build_critic, build_generator, plain_generator
from wgan_pipeline.gan.wgan import WGAN, input_gradient
from wgan_pipeline.training_run.devices import bfloat16_unsupported

from ..helpers import make_wgan, real_batch


def test_every_critic_weight_is_clipped_after_a_step():
    wgan = make_wgan(critic_lr=0.05, clip_value=0.01)  # big steps push weights past c
    wgan.train_on_batch(real_batch())
    weights = [ops.convert_to_numpy(w) for w in wgan.critic.trainable_weights]
    assert max(np.abs(w).max() for w in weights) <= 0.01
    # and the constraint is active, not vacuous: some weights sit on the boundary
    assert any(np.isclose(np.abs(w), 0.01).any() for w in weights)


def test_generator_step_raises_the_critics_score_of_fakes():
    """Generator loss is -mean D(G(z)) (label of *real* images): one update, critic frozen
    (its learning rate 0), must raise mean D(G(z)). The chapter's text, training G with the
    fake label, would lower it."""
    wgan = make_wgan(critic_lr=0.0, generator_lr=1e-4, clip_value=1.0)
    noise = np.random.default_rng(1).uniform(-1, 1, (256, 100)).astype(np.float32)

    def fake_score():
        return float(ops.mean(wgan.critic(wgan.generator(noise))))

    before = fake_score()
    critic_before = [ops.convert_to_numpy(w) for w in wgan.critic.weights]
    wgan.train_on_batch(real_batch())
    for w, w0 in zip(wgan.critic.weights, critic_before):  # the critic really stayed fixed
        np.testing.assert_array_equal(ops.convert_to_numpy(w), w0)
    assert fake_score() > before


def test_critic_step_raises_the_wasserstein_estimate():
    """Critic loss is mean D(fake) - mean D(real): one update, generator frozen, must raise
    mean D(real) - mean D(fake)."""
    wgan = make_wgan(critic_lr=1e-4, generator_lr=0.0)
    wgan.clip_critic_weights()  # as training does first, so only the update moves the critic
    real = real_batch()
    fake = wgan.generator(np.random.default_rng(2).uniform(-1, 1, (256, 100)).astype(np.float32))

    def estimate():
        return float(ops.mean(wgan.critic(real)) - ops.mean(wgan.critic(fake)))

    before = estimate()
    wgan.train_on_batch(real)
    assert estimate() > before


def test_n_critic_updates_per_generator_update():
    """Each step is one critic update on a fresh real batch; every n_critic-th also updates G."""
    wgan = make_wgan(n_critic=3)
    updates = []
    for seed in range(7):
        logs = wgan.train_on_batch(real_batch(seed=seed), return_dict=True)
        updates.append(
            (int(wgan.critic_optimizer.iterations), int(wgan.generator_optimizer.iterations))
        )
    assert updates == [(1, 0), (2, 0), (3, 1), (4, 1), (5, 1), (6, 2), (7, 2)]
    assert logs["wasserstein_estimate"] == pytest.approx(-logs["critic_loss"])


@pytest.mark.parametrize(
    ("generator_updates", "due"), [(0, 100), (24, 100), (25, 5), (499, 5), (500, 100), (1000, 100)]
)
def test_paper_schedule_gives_100_critic_updates_first_and_every_500th(generator_updates, due):
    wgan = make_wgan(n_critic=5, critic_schedule="paper")
    wgan.generator_optimizer.iterations.assign(generator_updates)
    assert int(wgan.critic_steps_due(wgan.generator_optimizer.iterations)) == due


def test_gradient_penalty_is_each_interpolates_own_gradient_norm():
    """The penalty from the one batched critic call equals mean((|grad D(x^)| - 1)^2) computed
    image by image, and the Wasserstein term is unchanged by the interpolates."""
    wgan = make_wgan(constraint="gradient_penalty")
    real = real_batch(8)
    fake = np.random.default_rng(3).uniform(-1, 1, (8, 28, 28, 1)).astype(np.float32)
    mix = np.random.default_rng(4).uniform(0, 1, (8, 1, 1, 1)).astype(np.float32)
    wasserstein, penalty = wgan.critic_terms(wgan.critic, input_gradient, real, fake, mix)

    def score(x):
        return ops.sum(wgan.critic(x)), None

    norms = []
    for interpolate in real + mix * (fake - real):
        _, grad = input_gradient(score, ops.convert_to_tensor(interpolate[np.newaxis]))
        norms.append(float(ops.norm(ops.reshape(grad, (-1,)))))
    assert float(penalty) == pytest.approx(np.mean((np.array(norms) - 1) ** 2), rel=1e-4)
    expected = float(ops.mean(wgan.critic(real)) - ops.mean(wgan.critic(fake)))
    assert float(wasserstein) == pytest.approx(expected, rel=1e-4, abs=1e-6)


def test_gradient_penalty_mode_clips_nothing_and_reports_the_penalty():
    wgan = make_wgan(critic_lr=0.05, clip_value=0.01, constraint="gradient_penalty")
    logs = wgan.train_on_batch(real_batch(), return_dict=True)
    weights = [ops.convert_to_numpy(w) for w in wgan.critic.trainable_weights]
    assert max(np.abs(w).max() for w in weights) > 0.01
    assert logs["gradient_penalty"] > 0
    assert logs["critic_loss"] == pytest.approx(
        -logs["wasserstein_estimate"] + 10 * logs["gradient_penalty"], rel=1e-4
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"clip_value": 0.0}, "clip_value"),
        ({"n_critic": 0}, "n_critic"),
        ({"noise": "x"}, "noise"),
        ({"constraint": "spectral"}, "constraint"),
        ({"constraint": "gradient_penalty", "gp_weight": 0}, "gp_weight"),
        ({"critic_schedule": "x"}, "critic_schedule"),
    ],
)
def test_wgan_refuses_bad_settings(kwargs, message):
    args = {"latent_dim": 100, "clip_value": 0.1, **kwargs}
    with pytest.raises(ValueError, match=message):
        WGAN(build_generator(100), build_critic(), **args)


@pytest.mark.skipif(
    bool(bfloat16_unsupported()),
    reason="no bfloat16 kernels on this CPU (or ONEDNN_MAX_CPU_ISA below AVX512_BF16): "
    "hooks/test_config_checks.py checks the run is refused instead",
)
def test_mixed_precision_computes_in_bfloat16_and_keeps_float32_weights_scores_and_losses():
    keras.utils.set_random_seed(0)
    generator = build_generator(100, fused_upsampling=True, dtype="mixed_bfloat16")
    critic = build_critic(dtype="mixed_bfloat16")
    wgan = WGAN(generator, critic, latent_dim=100, clip_value=0.1, seed=0)
    wgan.compile(keras.optimizers.RMSprop(1e-4), keras.optimizers.RMSprop(1e-4))
    assert generator.get_layer("dense_2").compute_dtype == "bfloat16"
    logs = wgan.train_on_batch(real_batch(), return_dict=True)
    assert all(np.isfinite(v) for v in logs.values())
    assert {w.dtype for w in wgan.weights if "float" in str(w.dtype)} == {"float32"}
    noise = np.random.default_rng(0).uniform(-1, 1, (4, 100)).astype(np.float32)
    images = generator(noise)
    assert images.dtype == "float32" and critic(images).dtype == "float32"
    # the plain float32 model that is saved draws the same digits, to bfloat16's precision
    plain = plain_generator(generator)
    np.testing.assert_allclose(plain(noise), images, atol=0.05)


def normalized_wgan(critic=None, run_eagerly=False, **kwargs) -> WGAN:
    """A clipped WGAN of batch-normalized dcgan networks of width 8 (seconds on a CPU), its
    critic's learning rate big enough to push weights past c."""
    keras.utils.set_random_seed(0)
    generator = build_generator(100, architecture="dcgan", width=8, normalization="batch")
    critic = critic or build_critic(architecture="dcgan", width=8, normalization="batch")
    wgan = WGAN(generator, critic, latent_dim=100, seed=0, **{"clip_value": 0.01, **kwargs})
    wgan.compile(keras.optimizers.RMSprop(0.05), keras.optimizers.RMSprop(5e-5),
                 run_eagerly=run_eagerly)  # fmt: skip
    return wgan


def test_every_critic_parameter_is_clipped_after_a_step_with_batch_normalization():
    """Kernels, biases and batch normalization's gamma and beta all lie within [-c, c] after one
    clipped step; the moving statistics are no parameters and keep what the batches made them."""
    wgan = normalized_wgan()
    wgan.train_on_batch(real_batch(8))
    trainable = {w.path: ops.convert_to_numpy(w) for w in wgan.critic.trainable_weights}
    kinds = {path.rsplit("/", 1)[-1] for path in trainable}
    assert kinds == {"kernel", "bias", "gamma", "beta"}
    assert max(np.abs(w).max() for w in trainable.values()) <= np.float32(0.01)
    gammas = [w for path, w in trainable.items() if path.endswith("gamma")]
    assert all(np.allclose(g, 0.01) for g in gammas)  # from 1, clipped to the boundary
    variances = [ops.convert_to_numpy(w) for w in wgan.critic.non_trainable_weights
                 if w.path.endswith("moving_variance")]  # fmt: skip
    assert len(variances) == 2 and min(v.min() for v in variances) > 0.5


class BatchSizes(keras.layers.Layer):
    """Passes images on unchanged, noting the batch size of every call (of every trace, in a
    compiled step)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, images):
        self.seen.append(images.shape[0])
        return images


@pytest.mark.parametrize("normalization", ["batch", "none"])
def test_a_batch_normalized_critic_sees_real_and_fake_batches_in_separate_calls(normalization):
    """With batch normalization each critic call holds one batch of 8 (real, fake, and the
    generator update's fake), never both at once; without, real and fake go in one call of 16,
    which is faster."""
    sizes = BatchSizes(name="batch_sizes")
    critic = keras.Sequential(
        [keras.Input((28, 28, 1)), sizes,
         build_critic(architecture="dcgan", width=8, normalization=normalization)]
    )  # fmt: skip
    wgan = normalized_wgan(critic=critic, run_eagerly=True)
    assert wgan.critic_normalizes_batches == (normalization == "batch")
    sizes.seen.clear()  # building the critic called it on a symbolic batch
    wgan.train_on_batch(real_batch(8))
    assert sizes.seen == ([8, 8, 8] if normalization == "batch" else [16, 8])


def test_critic_terms_score_real_then_fake_apart_with_batch_normalization():
    """The estimate is mean D(real) - mean D(fake), each batch normalized on its own: what two
    separate training calls give, not one call on both."""
    wgan = normalized_wgan()
    real = real_batch(8)
    fake = np.random.default_rng(3).uniform(-1, 1, (8, 28, 28, 1)).astype(np.float32)
    calls = []

    def score(images):
        calls.append(int(images.shape[0]))
        return wgan.critic(images, training=True)

    wasserstein, penalty = wgan.critic_terms(score, input_gradient, real, fake)
    assert calls == [8, 8] and float(penalty) == 0.0
    apart = ops.mean(wgan.critic(real, training=True)) - ops.mean(wgan.critic(fake, training=True))
    assert float(wasserstein) == pytest.approx(float(apart), rel=1e-5, abs=1e-6)
    together = wgan.critic(np.concatenate([real, fake]), training=True)
    mixed = ops.mean(together[:8]) - ops.mean(together[8:])
    assert abs(float(mixed) - float(apart)) > 1e-6  # one call would have mixed the statistics


def test_the_gradient_penalty_refuses_a_batch_normalized_critic():
    with pytest.raises(ValueError, match="penalty is on each image's own gradient.*clip"):
        normalized_wgan(constraint="gradient_penalty")
