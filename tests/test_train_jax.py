"""scripts/train_jax.py: training with Keras and JAX alone (Kedro, MLflow and TensorFlow cannot
be imported in its process), writing what the training node writes where the catalog puts it, so
the evaluation pipeline judges its generator as one `kedro run` trained."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import keras
import mlflow
import numpy as np
import pandas as pd
import pytest

from wgan_pipeline.params import TrainingParams
from wgan_pipeline.training_run.run_folder import RunFolders
from wgan_pipeline.training_run.trainer import train

from .helpers import (
    PROJECT_ROOT,
    TEST_EXPERIMENT,
    kedro,
    kedro_env,
    make_project_copy,
    model_versions,
)

pytestmark = pytest.mark.e2e

SCRIPT = PROJECT_ROOT / "scripts" / "train_jax.py"

# Runs the script's main() with Kedro, MLflow and TensorFlow made unimportable.
WITHOUT = """
import importlib.abc, importlib.util, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"kedro", "mlflow", "tensorflow"}:
            raise ModuleNotFoundError(f"{name} is not on this machine")
sys.meta_path.insert(0, Refuse())
spec = importlib.util.spec_from_file_location("train_jax", sys.argv[1])
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)
sys.exit(script.main(sys.argv[2:]))
"""


def train_jax(project, *args):
    return subprocess.run(
        [sys.executable, "-c", WITHOUT, str(SCRIPT), "--root", str(project), *args],
        check=False, cwd=project, capture_output=True, text=True, timeout=300,
        env={**kedro_env(), "KERAS_BACKEND": "jax"},
    )  # fmt: skip


@pytest.fixture(scope="module")
def jax_trained(tmp_path_factory):
    project = make_project_copy(tmp_path_factory.mktemp("jax"))
    # 2 epochs of 2 steps: XLA on a CPU runs this step at about 1 s (TensorFlow: 0.1 s)
    params = "training.architecture=dcgan,data.max_train_images=100"
    done = train_jax(project, "--env", "test", "--params", params)
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    return project, json.loads(done.stdout.strip().splitlines()[-1])


def test_trains_without_kedro_mlflow_or_tensorflow(jax_trained):
    project, summary = jax_trained
    assert summary["backend"] == "jax" and summary["epochs"] == 2  # conf/test
    critic = keras.saving.load_model(model_versions(project, "critic")[0], safe_mode=True)
    assert max(float(np.abs(w).max()) for w in critic.get_weights()) <= np.float32(0.1)
    (generator,) = model_versions(project, "generator")
    (critic,) = model_versions(project, "critic")
    assert generator.parent.name == summary["version"]
    g = keras.saving.load_model(generator, safe_mode=True)
    assert g.name == "mnist_generator" and g.count_params() == 1_439_489  # dcgan, latent 100
    assert keras.saving.load_model(critic, safe_mode=True).count_params() == 1_030_145
    history = pd.read_csv(project / "data" / "08_reporting" / "training_history.csv")
    assert list(history["epoch"]) == [1, 2] and np.isfinite(history["critic_loss"]).all()
    assert "epoch_seconds" in history.columns and "gradient_penalty" not in history.columns
    steps = pd.read_csv(project / "data" / "08_reporting" / "training_steps.csv")
    assert list(steps["critic_step"]) == [1, 2, 3, 4]  # 100 images / 50, 2 epochs
    samples = np.load(project / "data" / "07_model_output" / "epoch_samples.npy")
    assert samples.shape == (2, 4, 28, 28) and samples.dtype == np.uint8  # grid_rows 2
    grids = sorted(p.name for p in (project / "data" / "08_reporting" / "jax_samples").iterdir())
    assert grids == ["epoch_001.png", "epoch_002.png"]
    leftovers = list((project / "data" / "06_models" / "mnist" / "checkpoints").rglob("step-*"))
    assert leftovers == []  # every output written: the final checkpoint is gone


def test_the_evaluation_judges_it_as_a_run_of_its_own(jax_trained):
    project, summary = jax_trained
    done = kedro(project, "run", "--env", "test", "--pipelines", "classifier")
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    assert summary["evaluate"].startswith("kedro run --pipelines evaluation --env test --params")
    command = summary["evaluate"].split()[1:]
    command[command.index("--params") + 1] = command[command.index("--params") + 1].strip('"')
    done = kedro(project, *command)
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    store = f"sqlite:///{project / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=store, registry_uri=store)
    experiment = client.get_experiment_by_name(TEST_EXPERIMENT)
    (run,) = client.search_runs([experiment.experiment_id], "metrics.`eval.generated.fid` > 0")
    assert run.info.status == "FINISHED"
    assert run.data.params["training.architecture"] == "dcgan"
    assert run.data.params["data.max_train_images"] == "100"
    assert 0 < run.data.metrics["eval.generated.fid"] < run.data.metrics["eval.noise.fid"] * 10


def test_bad_parameters_stop_it_naming_the_key(tmp_path):
    project = make_project_copy(tmp_path)
    done = train_jax(project, "--env", "test", "--params", "training.architecture=resnet")
    assert done.returncode != 0
    assert "architecture" in done.stderr and "resnet" in done.stderr
    assert not (project / "data" / "06_models" / "mnist").exists()


def test_a_checkpoint_is_resumed_only_by_the_trainer_that_wrote_it(tmp_path, caplog, monkeypatch):
    """fit shuffles an epoch with TensorFlow, the scanned trainer with NumPy: a checkpoint
    written mid-epoch by one and resumed by the other would go on with another batch order and
    skip other images. The checkpoint names its trainer: the other trainer says so, leaves it
    and starts afresh; the trainer that wrote it resumes it."""
    project = make_project_copy(tmp_path)
    # the script sets KERAS_BACKEND=jax unless it is set: left set, every later command this
    # test process starts (kedro run in other tests) would train on JAX
    monkeypatch.setenv("KERAS_BACKEND", keras.backend.backend())
    spec = importlib.util.spec_from_file_location("train_jax", SCRIPT)
    tools = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tools)
    overrides = "training.architecture=dcgan,data.max_train_images=100"
    params = TrainingParams(**tools.parameters("test", overrides, project / "conf")["training"])
    params = params.model_copy(update={"checkpoint_every_steps": 1})  # not in the fingerprint
    images = tools.load_images("mnist", project, 100)  # 2 steps an epoch
    folders = RunFolders(project / "data" / "06_models" / "mnist" / "checkpoints")

    def crash(generator):
        raise RuntimeError("the machine went down")  # at epoch 1's end: step 1 is the latest

    with pytest.raises(RuntimeError, match="went down"):
        train(images, params, folders, judge=crash, judge_every=1)
    (written,) = folders.root.glob("run-*/step-000000001-*")

    done = train_jax(project, "--env", "test", "--params", overrides)
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    assert "the trainer (kedro run, not scripts/train_jax.py" in done.stderr
    steps = pd.read_csv(project / "data" / "08_reporting" / "training_steps.csv")
    assert list(steps["critic_step"]) == [1, 2, 3, 4]  # trained from the start
    assert written.exists()  # left for the trainer that wrote it

    with caplog.at_level("WARNING"):
        result = train(images, params, folders)
    folders.release(remove=True)
    assert f"Resuming training from checkpoint {written}: epoch 1, step 1 of it" in caplog.text
    assert list(result.steps["critic_step"]) == [1, 2, 3, 4]  # step 1 from before the crash
