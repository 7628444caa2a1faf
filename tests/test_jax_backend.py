"""The training step on Keras' JAX backend (KERAS_BACKEND=jax): the backend the GPU benchmark
machine has. Keras fixes its backend when it is first imported, so each check runs in its own
process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pytest

from .helpers import (
    PROJECT_ROOT,
    TEST_EXPERIMENT,
    kedro_env,
    make_project_copy,
    model_versions,
    python_without_project,
)

pytest.importorskip("jax", reason="JAX is in the test extra: pip install -e '.[test]'")


def on_backend(backend: str, *command: str, cwd: Path = PROJECT_ROOT, timeout: int = 600):
    env = {**kedro_env(), "KERAS_BACKEND": backend}
    return subprocess.run(
        command, check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def first_steps(tmp_path_factory):
    """Runs helpers.backend_steps once per (backend, constraint, steps per call, normalization)
    asked for."""
    done_runs = {}

    def run(backend: str, constraint: str, steps_per_call: int = 1, normalization: str = "none"):
        key = (backend, constraint, steps_per_call, normalization)
        if key not in done_runs:
            out = tmp_path_factory.mktemp("steps") / "weights.npz"
            code = (
                "import sys; from tests.helpers import backend_steps; backend_steps(*sys.argv[1:])"
            )
            done = on_backend(backend, sys.executable, "-c", code, str(out), constraint,
                              str(steps_per_call), normalization)  # fmt: skip
            assert done.returncode == 0, done.stderr[-3000:]
            done_runs[key] = np.load(out)
        return done_runs[key]

    return run


@pytest.mark.parametrize("constraint", ["clip", "gradient_penalty"])
def test_jax_step_computes_what_the_tensorflow_step_computes(constraint, first_steps):
    """Same weights, noise and batches, n_critic 2 (so the generator update is both taken and
    skipped): after 6 critic steps every weight and loss agrees to float rounding."""
    tf_run, jax_run = first_steps("tensorflow", constraint), first_steps("jax", constraint)
    assert int(jax_run["critic_steps"]) == 6 and int(jax_run["generator_steps"]) == 3
    moved = np.abs(tf_run["after"] - tf_run["before"]).max()
    assert moved > 1e-3  # the steps changed the weights far beyond the tolerance below
    np.testing.assert_allclose(jax_run["after"], tf_run["after"], rtol=0, atol=1e-6)
    for name in ("critic_loss", "generator_loss", "wasserstein_estimate"):
        np.testing.assert_allclose(jax_run[name], tf_run[name], rtol=1e-4, atol=1e-7)


def test_jax_step_with_batch_normalization_computes_what_the_tensorflow_step_computes(
    first_steps,
):
    """The batch-normalized dcgan pair, clipped, as above: every weight, trainable and the
    moving means and variances (updated by the real, the fake and the generator update's
    critic calls, and by both generator calls), agrees after 6 critic steps."""
    tf_run = first_steps("tensorflow", "clip", normalization="batch")
    jax_run = first_steps("jax", "clip", normalization="batch")
    assert int(jax_run["critic_steps"]) == 6 and int(jax_run["generator_steps"]) == 3
    assert np.abs(tf_run["after"] - tf_run["before"]).max() > 1e-3
    # 5 layers' moving means and variances: 2 x (4 x 8 x 8 + 16 + 8) in the generator, 2 x
    # (16 + 32) in the critic; the steps moved them off their start, and alike on both backends
    assert len(tf_run["moving"]) == 2 * (512 + 16 + 8) + 2 * (16 + 32)
    assert np.abs(tf_run["moving"] - tf_run["moving_before"]).max() > 1e-3
    np.testing.assert_allclose(jax_run["moving"], tf_run["moving"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(jax_run["after"], tf_run["after"], rtol=0, atol=1e-6)
    for name in ("critic_loss", "generator_loss", "wasserstein_estimate"):
        np.testing.assert_allclose(jax_run[name], tf_run[name], rtol=1e-4, atol=1e-7)


def test_several_steps_per_call_on_jax_are_the_same_steps(first_steps):
    """steps_per_execution 3 on JAX scans the step over 3 batches per compiled call: the same
    6 steps, the same weights."""
    one, three = first_steps("jax", "clip"), first_steps("jax", "clip", 3)
    assert int(three["critic_steps"]) == 6 and int(three["generator_steps"]) == 3
    np.testing.assert_allclose(three["after"], one["after"], rtol=0, atol=1e-6)


def test_keras_jax_trainer_contract():
    """The two places jax_adapter leans on Keras beyond its documented JAX contract: Keras' JAX
    trainer takes the optimizer state from ``model.optimizer.variables``, and ``fit`` calls
    ``model.train_function(state, iterator)`` after ``make_train_function``. If a Keras upgrade
    changes either, this fails, naming which."""
    code = """
import inspect
from keras.src.backend.jax.trainer import JAXTrainer
source = inspect.getsource(JAXTrainer)
assert "self.optimizer.variables" in source, "Keras' JAX trainer no longer reads model.optimizer.variables: OptimizerPair needs another way in"
assert "self.train_function(state, iterator)" in source, "fit no longer calls train_function(state, iterator): the scanned train function needs another way in"
assert list(inspect.signature(JAXTrainer.make_train_function).parameters) == ["self", "force"]
print("ok")
"""
    done = on_backend("jax", sys.executable, "-c", code)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


# The tests of the code that takes another path on JAX: the GAN library (the step, EMA, layers,
# models) and the trainer's devices, checkpoints and scanned epochs. The rest of tests/training_run
# (judging, callbacks, data) runs the same code on either backend, and its JAX run end to end is
# test_kedro_run_on_the_jax_backend below.
ON_JAX_TOO = ["tests/gan", *(f"tests/training_run/test_{name}.py"
                             for name in ("trainer", "checkpoints", "devices", "scanned"))]  # fmt: skip


def test_library_and_training_tests_pass_on_the_jax_backend():
    """The tests of ON_JAX_TOO, again with KERAS_BACKEND=jax."""
    done = on_backend("jax", sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
                      *ON_JAX_TOO)  # fmt: skip
    assert done.returncode == 0, done.stdout[-5000:]


@pytest.mark.e2e
def test_kedro_run_on_the_jax_backend(tmp_path):
    project = make_project_copy(tmp_path)
    done = on_backend("jax", sys.executable, "-m", "kedro", "run", "--env", "test", cwd=project)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-5000:]
    assert "Training with jax on cpu:0" in log

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    (experiment,) = [e for e in client.search_experiments() if e.name == TEST_EXPERIMENT]
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    history = client.get_metric_history(run.info.run_id, "wasserstein_estimate")
    assert [m.step for m in history] == [1, 2] and all(np.isfinite(m.value) for m in history)
    assert "eval.generated.fid" in run.data.metrics

    # the generator trained with JAX is the same .keras file: TensorFlow loads and runs it
    (generator,) = model_versions(project, "generator")
    code = (f"import keras, numpy as np; m = keras.saving.load_model({str(generator)!r}); "
            "print(m(np.zeros((2, 100), 'float32')).shape)")  # fmt: skip
    assert python_without_project(code, cwd=tmp_path).strip() == "(2, 28, 28, 1)"
