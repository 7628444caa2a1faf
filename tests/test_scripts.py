"""scripts/judge_configurations.py --judge: a judge file that is missing, is no Keras model or was
trained on another data set is refused, naming the problem, before anything is judged or logged."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import keras
import mlflow
import pytest

from .helpers import PROJECT_ROOT, kedro_env, make_project_copy

pytestmark = pytest.mark.e2e


def judge_configurations(project: Path, judge: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "scripts/judge_configurations.py", "--run", "chapter=0",
         "--judge", str(judge)],
        check=False, cwd=project, env=kedro_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture
def project(tmp_path) -> Path:
    project = make_project_copy(tmp_path, with_mnist=False)
    shutil.copytree(PROJECT_ROOT / "scripts", project / "scripts",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    return project


def saved_model(path: Path, name: str) -> Path:
    inputs = keras.Input((28, 28, 1))
    keras.Model(inputs, keras.layers.Flatten()(inputs), name=name).save(path)
    return path


def not_a_model(path: Path) -> Path:
    path.write_text("not a zip file")
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda folder: folder / "missing.keras", "missing.keras: no such file"),
        (lambda folder: not_a_model(folder / "notes.keras"), "is not a saved Keras model"),
        (lambda folder: saved_model(folder / "fashion.keras", "fashion_mnist_classifier"),
         "'fashion_mnist_classifier' was trained on fashion_mnist, but the runs are judged on "
         "mnist: pass a mnist judge"),
    ],
    ids=["missing", "not_a_model", "another_data_set"],
)  # fmt: skip
def test_a_bad_judge_is_refused_naming_the_problem(project, tmp_path, make, message):
    done = judge_configurations(project, make(tmp_path))
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0
    assert message in output, output[-3000:]
    assert "Traceback" not in output
    store = project / "mlflow.db"  # made by the Kedro session, where the script got that far
    if store.exists():
        client = mlflow.MlflowClient(f"sqlite:///{store}")
        assert not [
            r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])
        ]
