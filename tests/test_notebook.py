"""notebooks/explore_wgan.ipynb, executed top to bottom as a user would after `kedro run`: on a
fresh copy of the project after the real `kedro run --env test`, in a python3 kernel started
in the copy's notebooks/ folder, offline."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import sqlite3
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from PIL import Image

from .helpers import MLFLOW_PROCESS_STATE, PROJECT_ROOT, kedro, make_project_copy

NOTEBOOK = PROJECT_ROOT / "notebooks" / "explore_wgan.ipynb"
FIGURES = (
    "digits",
    "interpolation",
    "curves",
    "champion",
)  # tags of the cells that draw one figure each

# Appended to the executed copy only: what the notebook's kernel ended up with.
PROBE = """
import json, sys
print(json.dumps({
    "executable": sys.executable,
    "tracking_uri": mlflow.get_tracking_uri(),
    "run_id": run.info.run_id,
    "noise_kind": noise_kind,
    "dataset": DATASET,
    "run_dataset": run.data.tags.get("dataset"),
    "data_matches_run": matches,
    "epochs": {name: [m.step for m in histories[name]] for name in names},
}))
"""


def count_runs(project: Path) -> int:
    with sqlite3.connect(project / "mlflow.db") as db:
        return db.execute("select count(*) from runs").fetchone()[0]


def tagged(notebook: nbformat.NotebookNode, tag: str) -> nbformat.NotebookNode:
    (cell,) = [c for c in notebook.cells if tag in c.metadata.get("tags", [])]
    return cell


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> tuple[Path, nbformat.NotebookNode]:
    project = make_project_copy(tmp_path_factory.mktemp("notebook"))
    result = kedro(project, "run", "--env", "test")
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    (project / "notebooks").mkdir()
    shutil.copy(NOTEBOOK, project / "notebooks")
    runs_before = count_runs(project)

    notebook = nbformat.read(project / "notebooks" / NOTEBOOK.name, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(PROBE, metadata={"tags": ["probe"]}))
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    for name in (*MLFLOW_PROCESS_STATE, "MPLBACKEND"):
        env.pop(name, None)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,  # per cell; the slowest (loading Kedro, TensorFlow, MLflow) takes ~15 s
        resources={"metadata": {"path": str(project / "notebooks")}},  # the kernel's cwd
    )
    client.execute(env=env)  # raises CellExecutionError, with the traceback, on a failing cell

    assert count_runs(project) == runs_before  # reading only: no MLflow run started
    return project, notebook


def test_committed_notebook_has_no_outputs_and_a_python3_kernel():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code[0].source.splitlines()[0] == "%load_ext kedro.ipython"
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert {tag for c in code for tag in c.metadata.get("tags", [])} >= {"run", "metrics", *FIGURES}


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_notebook_runs_in_the_venv_against_the_projects_mlflow_store(executed):
    project, notebook = executed
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors

    (printed,) = [o.text for o in tagged(notebook, "probe").outputs if o.get("name") == "stdout"]
    probe = json.loads(printed)
    assert probe["executable"] == sys.executable
    # kedro-mlflow's hook anchors the store at the project root, not at notebooks/
    assert probe["tracking_uri"] == f"sqlite:///{project / 'mlflow.db'}"
    assert not (project / "notebooks" / "mlflow.db").exists()
    assert not (project / "notebooks" / "mlruns").exists()
    with sqlite3.connect(project / "mlflow.db") as db:
        ((run_id,),) = db.execute("select run_uuid from runs").fetchall()
    assert probe["run_id"] == run_id
    assert probe["data_matches_run"]  # data/ was written by that run: no warning
    assert probe["noise_kind"] == "uniform"  # conf/base, which the test env keeps
    assert probe["dataset"] == probe["run_dataset"] == "mnist"  # the notebook's default
    metrics = ("critic_loss", "generator_loss", "wasserstein_estimate")
    assert probe["epochs"] == {name: [1, 2] for name in metrics}  # conf/test: 2 epochs


def test_notebook_picks_one_data_set_at_the_top_and_shows_only_its_runs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    first = [c for c in notebook.cells if c.cell_type == "code"][0].source
    assert 'DATASET = "mnist"' in first and "fashion_mnist" in first
    assert "tags.dataset = '{DATASET}'" in tagged(notebook, "run").source


def test_notebook_draws_the_champion_with_the_champions_own_noise_size():
    # the latest generator's latent_dim need not be the champion's
    source = tagged(nbformat.read(NOTEBOOK, as_version=4), "champion").source
    assert "get_input_schema()" in source
    assert not re.search(r"latent_noise\([^)]*\blatent_dim\b", source)


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_notebook_shows_the_evaluation_table_with_its_three_sets(executed):
    _, notebook = executed
    tables = [
        o.data["text/html"]
        for o in tagged(notebook, "metrics").outputs
        if "text/html" in o.get("data", {}) and 'class="dataframe' in o.data["text/html"]
    ]
    assert len(tables) == 1
    for name in ("generated", "real", "noise", "fid", "precision", "recall", "coverage"):
        assert f">{name}<" in tables[0], name
    texts = [o.data.get("text/markdown", "") for o in tagged(notebook, "metrics").outputs]
    assert any("Generated FID" in text for text in texts)


@pytest.mark.e2e
@pytest.mark.timeout(600)
@pytest.mark.parametrize("tag", FIGURES)
def test_notebook_draws_each_figure(executed, tag):
    _, notebook = executed
    outputs = tagged(notebook, tag).outputs
    images = [o.data["image/png"] for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1
    image = Image.open(io.BytesIO(base64.b64decode(images[0])))
    assert image.width >= 300 and image.height >= 200
    assert np.unique(np.asarray(image.convert("L"))).size > 10  # drawn, not blank


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_notebook_loads_the_champion_from_the_registry(executed):
    _, notebook = executed
    texts = [o.data.get("text/markdown", "") for o in tagged(notebook, "champion").outputs]
    assert any("`models:/wgan-generator@champion` is version 1" in text for text in texts)
