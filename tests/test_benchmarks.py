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


def logged_run(client, experiment: str, seconds: list[float], fids: list[float]) -> str:
    """A finished run as `kedro run` logs one: an epoch's seconds and its raw and moving-average
    judgings (the moving average 1 worse), the real images' floor and the final evaluation."""
    run = client.create_run(experiment, tags={"kedro_command": "kedro run --env clipped"})
    run_id = run.info.run_id
    client.log_param(run_id, "training.normalization", "batch")
    for epoch, (s, fid) in enumerate(zip(seconds, fids, strict=True), start=1):
        client.log_metric(run_id, "epoch_seconds", s, step=epoch)
        for prefix, value in (("judge", fid), ("judge_ema", fid + 1)):
            scores = {"fid": value, "precision": 0.6, "recall": 0.8,
                      "rarest_class_share": 0.08, "commonest_class_share": 0.12}  # fmt: skip
            for key, score in scores.items():
                client.log_metric(run_id, f"{prefix}.{key}", score, step=epoch)
    for key, value in {"eval.real.fid": 1.0, "eval.generated.fid": 2.5, "best_epoch": 3,
                       "eval.generated.precision": 0.75, "eval.generated.recall": 0.6,
                       "eval.generated.rarest_class_share": 0.08,
                       "eval.generated.commonest_class_share": 0.12}.items():  # fmt: skip
        client.log_metric(run_id, key, value)
    client.set_terminated(run_id)
    return run_id


def test_equal_minutes_puts_each_epoch_at_its_runs_median_pace_and_checks_the_targets(tmp_path):
    """benchmarks/equal_minutes.py on two runs in another store: a paused first epoch does not
    move the others (the median epoch sets the pace), a mark gets the last judging before it, a
    mark past a run's end gets its last judging, said so; the targets are checked."""
    import mlflow  # noqa: PLC0415

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri)
    experiment = client.create_experiment("wgan", artifact_location=str(tmp_path / "artifacts"))
    paused = logged_run(client, experiment, [600, 120, 120, 130], [50, 20, 9, 11])
    steady = logged_run(client, experiment, [60, 60, 60], [40, 30, 10])
    out = tmp_path / "equal.json"
    script = PROJECT_ROOT / "benchmarks" / "equal_minutes.py"
    command = [sys.executable, str(script), "--run", f"paused={paused}@{uri}",
               "--run", f"steady={steady}@{uri}", "--minutes", "4", "--minutes", "8",
               "--machine", "a test", "--out", str(out)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    first, second = json.loads(out.read_text())["runs"]
    assert first["minutes_per_epoch"] == pytest.approx(125 / 60, abs=0.01)
    assert [p["minutes"] for p in first["curve"]] == pytest.approx(
        [2.08, 4.17, 6.25, 8.33], abs=0.01
    )
    assert [p["source"] for p in first["curve"]] == ["raw"] * 4
    assert first["at_minutes"]["4"]["epoch"] == 1 and first["at_minutes"]["8"]["epoch"] == 3
    assert not first["at_minutes"]["8"]["ended_before"]
    # the steady run ended at 3 minutes: at 8 its last judging stands, said to be its end
    assert second["at_minutes"]["4"]["epoch"] == 3 and not second["at_minutes"]["4"]["ended_before"]
    assert second["at_minutes"]["8"]["epoch"] == 3 and second["at_minutes"]["8"]["ended_before"]
    assert first["normalization"] == "batch" and first["kept_epoch"] == 3
    # the final evaluation: FID 2.5 within 3x the floor, precision 0.75, recall 0.6, shares in range
    assert all(first["final"]["targets"].values())
    # epoch 3's judging: FID 9 (not within 3x the floor), shares in range, precision 0.6, recall 0.8
    assert list(first["at_minutes"]["8"]["targets"].values()) == [False, True, False, True]

    unfinished = client.create_run(experiment).info.run_id  # still running: refused, by name
    refused = subprocess.run(
        [*command[:2], "--run", f"open={unfinished}@{uri}", "--machine", "a test"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert refused.returncode != 0
    assert f"--run open: run {unfinished} has not finished" in refused.stderr
