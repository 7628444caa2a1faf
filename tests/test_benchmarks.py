"""The speed benchmark runs (its short mode, a few steps): it is measured by hand, never timed
here; the step a time-to-quality benchmark swaps in does what its docstring says."""

import importlib.util
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from wgan_pipeline.training_run.devices import bfloat16_unsupported

from .helpers import PROJECT_ROOT, make_wgan, mnist_copy, real_batch


def test_benchmark_quick_mode_writes_its_table(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "benchmarks" / "train_speed.py"), "--quick",
         "--mnist", str(mnist_copy()), "--out", str(out)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "project step, UpSampleConv2D" in result.stdout
    assert "mixed precision (bfloat16)" in result.stdout and "training checkpoint" in result.stdout
    report = json.loads(out.read_text())
    summary = report["summary"]
    assert summary["attainable_gflops"] > 0
    for name in ("plain", "fused", "fused_bf16"):
        if name == "fused_bf16" and bfloat16_unsupported():
            assert "bfloat16" in summary[name]["skipped"]  # no bf16 kernels on this CPU
            continue
        assert summary[name]["steps_per_s"] > 0 and summary[name]["peak_rss_mb"] > 0
    # FLOP counts are exact arithmetic on the models, not timings: the chapter's step is about
    # 40 GFLOP, and UpSampleConv2D cuts the generator's convolutions to 9/25.
    fused = report["results"]["project_fused"]
    assert 39 < fused["nominal_gflop_per_step"] < 41
    assert 18 < fused["executed_gflop_per_step"] < 20
    assert (
        report["results"]["project_plain"]["executed_gflop_per_step"]
        == fused["nominal_gflop_per_step"]
    )


def test_jax_epoch_benchmark_quick_mode_runs_on_the_jax_backend(tmp_path):
    """benchmarks/jax_epoch.py (the GPU measurement) in its short mode, on this CPU."""
    pytest.importorskip("jax", reason="JAX is in the test extra: pip install -e '.[test]'")
    out = tmp_path / "jax.json"
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "benchmarks" / "jax_epoch.py"), "--quick",
         "--modes", "fit_spe,scan", "--mnist", str(mnist_copy()), "--out", str(out)],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "KERAS_BACKEND": "jax"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["device"].startswith("cpu")
    for mode in ("fit_spe", "scan"):
        assert report[mode]["steps"] == 3 and report[mode]["steps_per_s"] > 0
    assert 18 < report["executed_gflop_per_step"] < 20  # the same step train_speed.py counts


def reused_fakes_class():
    path = PROJECT_ROOT / "benchmarks" / "reused_fakes.py"
    spec = importlib.util.spec_from_file_location("reused_fakes", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.reused_fakes_class()


def test_reused_fakes_step_is_the_critic_update_then_a_generator_update_through_the_old_critic():
    """benchmarks/reused_fakes.py's step, from the same weights and noise as the project's: the
    same critic update (clipped), and a generator update whose gradient is -mean D(G(z)) of the
    critic as it was before the step, on the critic update's own fakes."""
    rates = {"critic_lr": 1e-3, "generator_lr": 1e-3, "clip_value": 0.01}
    project, expected, start = make_wgan(**rates), make_wgan(**rates), make_wgan(**rates)
    reused = reused_fakes_class()(
        keras.models.clone_model(start.generator), keras.models.clone_model(start.critic),
        latent_dim=100, clip_value=0.01, seed=0,
    )  # fmt: skip
    reused.generator.set_weights(start.generator.get_weights())
    reused.critic.set_weights(start.critic.get_weights())
    reused.compile(keras.optimizers.RMSprop(1e-3), keras.optimizers.RMSprop(1e-3))

    real = real_batch()
    noise = expected.sample_noise(len(real))  # seed 0's first draw: the critic update's fakes
    with tf.GradientTape() as tape:
        loss = -ops.mean(expected.critic(expected.generator(noise, training=True)))
    weights = expected.generator.trainable_weights
    expected.generator_optimizer.apply(tape.gradient(loss, weights), weights)
    project.train_on_batch(real)
    reused.train_on_batch(real)

    for mine, theirs in zip(reused.critic.weights, project.critic.weights, strict=True):
        np.testing.assert_allclose(
            ops.convert_to_numpy(mine), ops.convert_to_numpy(theirs), atol=1e-6
        )
    assert max(np.abs(ops.convert_to_numpy(w)).max() for w in reused.critic.weights) <= 0.01
    moved = 0.0
    for variable, expected, before in zip(
        reused.generator.trainable_weights, weights, start.generator.trainable_weights, strict=True
    ):
        mine, want = ops.convert_to_numpy(variable), ops.convert_to_numpy(expected)
        np.testing.assert_allclose(mine, want, atol=1e-6)
        moved = max(moved, np.abs(mine - ops.convert_to_numpy(before)).max())
    assert moved > 1e-4  # the generator really moved


def test_reused_fakes_refuses_what_it_does_not_measure():
    wgan = make_wgan(n_critic=2)
    with pytest.raises(SystemExit, match="n_critic 2"):
        reused_fakes_class()(wgan.generator, wgan.critic, latent_dim=100, n_critic=2)
