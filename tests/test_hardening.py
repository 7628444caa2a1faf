"""Attacks from outside, through the real CLI: a kill while the outputs are saved, signals
during evaluation, a mistyped parameter group, an env that does not exist."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import mlflow
import pytest

from .helpers import kedro, kedro_env, make_project_copy, model_versions, trained_project

pytestmark = pytest.mark.e2e


def start(project: Path, *args: str, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "kedro", "run", "--env", "test", *args]
    with log.open("w") as out:
        return subprocess.Popen(command, cwd=project, env=kedro_env(), stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip


def wait_for(condition, process: subprocess.Popen, what: str, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        assert process.poll() is None, f"the run ended before {what}"
        time.sleep(0.005)
    raise AssertionError(f"no {what} within {seconds} s")


def runs(project: Path) -> list:
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("wgan_pipeline")
    return client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])


@pytest.mark.timeout(600)
def test_a_kill_while_the_models_are_saved_loses_no_training(tmp_path):
    """SIGKILL the moment the generator's new version folder appears (its file being written):
    no partial file is a version, the final checkpoint survives, and the same command hands
    the trained networks on without training again; no MLflow run is left RUNNING."""
    project = make_project_copy(tmp_path)
    models = project / "data" / "06_models"
    process = start(project, log=tmp_path / "killed.log")
    wait_for(lambda: any((models / "generator.keras").glob("*/")), process, "a generator save")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    for version in models.glob("*.keras/*/[!.]*.keras"):  # a folder without its file: no version
        keras.saving.load_model(version, safe_mode=True)  # every version is whole
    assert list((models / "checkpoints").glob("run-*/step-*")), "the final checkpoint is gone"

    again = kedro(project, "run", "--env", "test")
    output = " ".join((again.stdout + again.stderr).split())
    assert again.returncode == 0, output[-5000:]
    assert "Training had finished in checkpoint" in output, output[-5000:]
    assert "Epoch 1/" not in output  # nothing trained again
    generator = model_versions(project, "generator")[-1]
    assert keras.saving.load_model(generator, safe_mode=True).output_shape == (None, 28, 28, 1)
    assert not list((models / "checkpoints").iterdir())
    assert not list(models.rglob(".*.partial-*"))
    assert [r.info.status for r in runs(project)] == ["KILLED", "FINISHED"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    return trained_project(tmp_path_factory.mktemp("trained"))


@pytest.mark.timeout(600)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_evaluation_ends_the_run_killed(trained, tmp_path, sig):
    """20,000 samples judged: long enough to stop mid-way. The run says so, exits non-zero and
    its MLflow run is KILLED, not FINISHED (SIGINT) or RUNNING forever (SIGTERM)."""
    log = tmp_path / "eval.log"
    big = "evaluation.n_samples=20000,evaluation.n_reference=20000"
    before = len(runs(trained))
    process = start(trained, "--pipeline", "evaluation", "--params", big, log=log)
    wait_for(lambda: "evaluation.extract_features" in log.read_text(), process, "evaluation")
    time.sleep(1)
    process.send_signal(sig)
    assert process.wait(timeout=120) != 0
    output = " ".join(log.read_text().split())
    assert f"kedro run stopped by {sig.name}" in output, output[-5000:]
    (stopped,) = runs(trained)[before:]
    assert stopped.info.status == "KILLED"


def test_a_mistyped_parameter_group_stops_the_run(trained):
    done = kedro(trained, "run", "--env", "test", "--params", "trainng.epochs=1")
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0
    assert "Unknown parameter group(s) ['trainng']: the groups are" in output, output[-3000:]
    assert "Running node" not in output


def test_an_env_that_does_not_exist_is_named_with_those_that_do(trained):
    done = kedro(trained, "run", "--env", "nope")
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0
    assert "The Kedro environment 'nope' does not exist" in output, output[-3000:]
    assert "['gp', 'local', 'paper', 'quick', 'test']" in output
    assert "maintenance mode" not in output
