"""The speed benchmark runs (its short mode, a few steps): it is measured by hand, never timed here."""

import json
import os
import subprocess
import sys

import pytest

from wgan_pipeline.training_run.devices import bfloat16_unsupported

from .helpers import PROJECT_ROOT, mnist_copy


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
