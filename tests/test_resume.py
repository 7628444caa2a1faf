"""A killed `kedro run` resumes from its last checkpoint and ends exactly where an uninterrupted
run ends; SIGTERM stops cleanly; a checkpoint of other settings is not resumed."""

from __future__ import annotations

import hashlib
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import mlflow
import numpy as np
import pytest

from .helpers import (
    TEST_EXPERIMENT,
    TEST_MODEL,
    kedro,
    kedro_env,
    make_project_copy,
    model_versions,
)

pytestmark = pytest.mark.e2e

# conf/test: 200 images in batches of 50, 4 critic steps an epoch; 4 epochs, 16 steps.
PARAMS = "training.epochs=4,training.checkpoint_every_steps=1,training.deterministic=true"


def run(project: Path, *args: str) -> subprocess.CompletedProcess:
    return kedro(project, "run", "--env", "test", *args)


def start(project: Path, *args: str, log: Path) -> subprocess.Popen:
    """The same command as ``run``, in the background, its output in ``log``."""
    command = [sys.executable, "-m", "kedro", "run", "--env", "test", *args]
    with log.open("w") as out:
        return subprocess.Popen(command, cwd=project, env=kedro_env(), stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip


def wait_for_checkpoint(project: Path, process: subprocess.Popen, step: int) -> str:
    """Block until a checkpoint of critic step >= ``step`` exists; return its name."""
    folder = project / "data" / "06_models" / "mnist" / "checkpoints"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        names = sorted(p.name for p in folder.glob("run-*/step-*")) if folder.is_dir() else []
        if names and int(names[-1].split("-")[1]) >= step:
            return names[-1]
        assert process.poll() is None, "training ended before the checkpoint to stop at"
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint of step {step} within 240 s")


def weights_hash(path: Path) -> str:
    model = keras.saving.load_model(path, safe_mode=True)
    data = b"".join(np.ascontiguousarray(w).tobytes() for w in model.get_weights())
    return hashlib.sha256(data).hexdigest()


@pytest.mark.timeout(600)
def test_sigkill_then_resume_ends_bit_identical_to_an_uninterrupted_run(tmp_path):
    project = make_project_copy(tmp_path)
    whole = run(project, "--params", PARAMS)  # trains the classifier too, reused below
    assert whole.returncode == 0, whole.stdout[-4000:] + whole.stderr[-4000:]

    kill_at = random.Random().randint(2, 13)  # any critic step but the last few
    process = start(project, "--pipelines", "gan", "--params", PARAMS, log=tmp_path / "1.log")
    stopped_at = wait_for_checkpoint(project, process, kill_at)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    resumed = run(project, "--pipelines", "gan", "--params", PARAMS)
    output = " ".join((resumed.stdout + resumed.stderr).split())
    assert resumed.returncode == 0, output[-5000:]
    assert "Resuming training from checkpoint" in output, output[-5000:]
    step = int(output.split("(critic step ")[1].split(",")[0])
    assert step >= kill_at, (step, kill_at, stopped_at)
    for name in ("generator", "critic"):
        uninterrupted, after_resume = model_versions(project, name)
        assert weights_hash(after_resume) == weights_hash(uninterrupted), (name, kill_at)
    assert not list(
        (project / "data" / "06_models" / "mnist" / "checkpoints").iterdir()
    )  # finished

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    (latest, *_) = client.search_runs(
        [client.get_experiment_by_name(TEST_EXPERIMENT).experiment_id],
        order_by=["attributes.start_time DESC"],
    )
    assert latest.info.status == "FINISHED"
    killed = client.get_run(latest.data.tags["resumed_from_run"])
    assert killed.info.status == "KILLED"  # the SIGKILLed run is not left RUNNING
    assert latest.data.tags["resumed_at_critic_step"] == str(step)
    assert "resumed_from_run" in latest.data.tags


@pytest.mark.timeout(600)
def test_sigterm_checkpoints_then_other_settings_start_fresh_and_keep_it_for_a_resume(tmp_path):
    """SIGTERM closes the run KILLED with a checkpoint; a run of other settings starts fresh
    and leaves that checkpoint (it was deleted), so the first command still resumes."""
    project = make_project_copy(tmp_path)
    log = tmp_path / "term.log"
    process = start(project, "--params", PARAMS, log=log)
    wait_for_checkpoint(project, process, 3)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) != 0
    output = " ".join(log.read_text().split())
    assert "Training stopped by SIGTERM at critic step" in output, output[-5000:]
    assert "Run the same command again to resume" in output
    checkpoints = list(
        (project / "data" / "06_models" / "mnist" / "checkpoints").glob("run-*/step-*")
    )
    assert len(checkpoints) == 1
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    (killed,) = client.search_runs([client.get_experiment_by_name(TEST_EXPERIMENT).experiment_id])
    assert killed.info.status == "KILLED"
    assert "SIGTERM" in killed.data.tags["interrupted"]
    assert not (
        project / "data" / "06_models" / "mnist" / "generator.keras"
    ).exists()  # nothing saved

    other = run(project, "--params", PARAMS + ",training.clip_value=0.05")
    output = " ".join((other.stdout + other.stderr).split())
    assert other.returncode == 0, output[-5000:]
    assert f"Not resuming checkpoint {checkpoints[0]}" in output
    assert "training.clip_value 0.1 -> 0.05" in output and "It is kept" in output
    assert "Resuming" not in output
    assert [p.parent for p in checkpoints[0].parents[1].glob("run-*/step-*")] == [
        checkpoints[0].parent
    ]  # the first command's, untouched; the other run's own went when it finished

    again = run(project, "--params", PARAMS)  # "run the same command again" still resumes
    output = " ".join((again.stdout + again.stderr).split())
    assert again.returncode == 0, output[-5000:]
    assert f"Resuming training from checkpoint {checkpoints[0]}" in output, output[-5000:]
    assert not list((project / "data" / "06_models" / "mnist" / "checkpoints").iterdir())


@pytest.mark.timeout(600)
def test_two_runs_at_once_both_finish_and_keep_their_own_outputs(tmp_path):
    """Two `kedro run`s started together in one project: both finish, each has its own model
    versions, checkpoints and MLflow run with intact artifacts, and the store is sound."""
    project = make_project_copy(tmp_path)
    logs = [tmp_path / f"{i}.log" for i in range(2)]
    seeds = ("training.seed=1", "training.seed=2")
    processes = [start(project, "--params", f"{PARAMS},{seed}", log=log)
                 for seed, log in zip(seeds, logs)]  # fmt: skip
    for process, log in zip(processes, logs):
        assert process.wait(timeout=500) == 0, log.read_text()[-5000:]

    for name in ("generator", "critic"):
        versions = model_versions(project, name)
        assert len(versions) == 2, name
        for version in versions:
            keras.saving.load_model(version, safe_mode=True)  # whole, loadable files
    assert not list((project / "data" / "06_models" / "mnist" / "checkpoints").iterdir())
    assert weights_hash(model_versions(project, "generator")[0]) != weights_hash(
        model_versions(project, "generator")[1]
    )  # two seeds, two models: neither run took the other's

    uri = f"sqlite:///{project / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name(TEST_EXPERIMENT).experiment_id])
    assert sorted(r.data.params["training.seed"] for r in runs) == ["1", "2"]
    # each run registered the generator it trained, not the other's (the latest version folder)
    for log in logs:
        assert "did not match load version" not in log.read_text()
    trained = {weights_hash(path) for path in model_versions(project, "generator")}
    registered = set()
    for run_ in runs:
        version = client.get_model_version(TEST_MODEL, run_.data.tags["registered_version"])
        logged = client.get_logged_model(version.source.removeprefix("models:/"))
        (model_file,) = Path(logged.artifact_location.removeprefix("file://")).rglob("*.keras")
        registered.add(weights_hash(model_file))
    assert registered == trained
    for run_ in runs:
        assert run_.info.status == "FINISHED"
        history = client.get_metric_history(run_.info.run_id, "wasserstein_estimate")
        assert [m.step for m in history] == [1, 2, 3, 4]
        local = Path(
            client.download_artifacts(
                run_.info.run_id, "training_history.csv", tmp_path / run_.info.run_id
            )
        )
        assert len(local.read_text().splitlines()) == 1 + 4
        steps = Path(
            client.download_artifacts(
                run_.info.run_id, "training_steps.csv", tmp_path / run_.info.run_id
            )
        )
        # each run's own per-step curve: its values match its own metric history
        frame = np.loadtxt(steps, delimiter=",", skiprows=1)
        per_epoch = [frame[frame[:, 1] == e, 2].mean() for e in (1, 2, 3, 4)]
        np.testing.assert_allclose(per_epoch, [m.value for m in history], rtol=1e-5)
