"""notebooks/explore_wgan.ipynb, executed top to bottom as a user would after `kedro run`: on a
fresh copy of the project after the real `kedro run --env test`, offline, in a kernel started in
the copy's notebooks/ folder: the project's own (what `kedro jupyter lab` opens it in, installed
here by `kedro jupyter setup` into a temporary Jupyter data folder) and a plain python3 one."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import sqlite3
import sys
import tomllib
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from PIL import Image

from .helpers import MLFLOW_PROCESS_STATE, PROJECT_ROOT, TEST_MODEL, kedro, make_project_copy

NOTEBOOK = PROJECT_ROOT / "notebooks" / "explore_wgan.ipynb"
# The kernel `kedro jupyter setup` (and `kedro jupyter lab`) installs: kedro_<package name>.
PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
PACKAGE = PYPROJECT["tool"]["kedro"]["package_name"]
PROJECT_KERNEL = (f"kedro_{PACKAGE}", f"Kedro ({PACKAGE})")  # name, display name
# A log record as a line of output: Python logging's (plain or rich, after a date and a time at
# most), absl's (TensorFlow's C++ core: I0000 00:00:...) and the warning it starts with.
LOG_RECORD = re.compile(
    r"\s*(\S+\s+){0,2}(DEBUG|INFO|WARNING|ERROR|CRITICAL)\b|[IWEF]\d{4} \d\d:\d\d:\d\d"
)
ANSI = re.compile(r"\x1b\[[0-9;]*m|\x1b\]8;[^\x1b]*\x1b\\")  # colours; rich's file links
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
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """A project copy after the real `kedro run --env test`, and a Jupyter data folder holding
    the kernel `kedro jupyter setup` installs there (not in the user's ~/.local/share/jupyter)."""
    project = make_project_copy(tmp_path_factory.mktemp("notebook"))
    result = kedro(project, "run", "--env", "test")
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    (project / "notebooks").mkdir()
    jupyter_data = tmp_path_factory.mktemp("jupyter_data")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JUPYTER_DATA_DIR", str(jupyter_data))
        result = kedro(project, "jupyter", "setup")
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return project, jupyter_data


@pytest.fixture(scope="module", params=["project", "python3"])
def executed(request, trained) -> tuple[Path, nbformat.NotebookNode]:
    """The notebook executed in the kernel it names (the project's), or in plain python3."""
    project, jupyter_data = trained
    shutil.copy(NOTEBOOK, project / "notebooks")
    runs_before = count_runs(project)

    notebook = nbformat.read(project / "notebooks" / NOTEBOOK.name, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(PROBE, metadata={"tags": ["probe"]}))
    kernel = notebook.metadata.kernelspec.name if request.param == "project" else "python3"
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "JUPYTER_DATA_DIR": str(jupyter_data),
           "KEDRO_ENV": "test"}  # the run's env: its own experiment and registered model  # fmt: skip
    # The notebook quiets TensorFlow itself, not the test session's TF_CPP_MIN_LOG_LEVEL; and
    # ipykernel sends what C code writes to the process's stdout and stderr (TensorFlow's log)
    # to the notebook, as in Jupyter, only where PYTEST_CURRENT_TEST is not set.
    unset = ("MPLBACKEND", "TF_CPP_MIN_LOG_LEVEL", "PYTEST_CURRENT_TEST")
    for name in (*MLFLOW_PROCESS_STATE, *unset):
        env.pop(name, None)
    client = NotebookClient(
        notebook,
        kernel_name=kernel,
        timeout=300,  # per cell; the slowest (loading Kedro, TensorFlow, MLflow) takes ~15 s
        resources={"metadata": {"path": str(project / "notebooks")}},  # the kernel's cwd
    )
    with pytest.MonkeyPatch.context() as here:
        here.setenv("JUPYTER_DATA_DIR", str(jupyter_data))  # where the client finds the kernel
        client.execute(env=env)  # raises CellExecutionError, with the traceback, on a failing cell

    assert count_runs(project) == runs_before  # reading only: no MLflow run started
    return project, notebook


def test_committed_notebook_has_no_outputs_and_the_projects_kernel():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    kernelspec = notebook.metadata.kernelspec
    assert (kernelspec.name, kernelspec.display_name) == PROJECT_KERNEL
    code = [c for c in notebook.cells if c.cell_type == "code"]
    first = code[0].source
    # quiet before anything loads; another kernel than the project's loads Kedro itself
    assert first.index("logging.disable(logging.INFO)") < first.index("%load_ext kedro.ipython")
    assert first.index("import keras") < first.index("%load_ext kedro.ipython")
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert {tag for c in code for tag in c.metadata.get("tags", [])} >= {"run", "metrics", *FIGURES}


def log_records(outputs: list) -> list[str]:
    """The lines of ``outputs`` (streams, and what is displayed as text) that are log records."""
    texts = [o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs]
    lines = [line for text in texts for line in ANSI.sub("", text).splitlines()]
    return [line for line in lines if LOG_RECORD.match(line)]


def test_log_records_are_told_from_outputs():
    output = nbformat.v4.new_output  # as the kernel sends them
    logged = [
        output("stream", name="stdout", text="10:33:13 INFO    Outputs saved\n"),
        output("stream", name="stdout", text="2026/12/07 10:33:13 WARNING mlflow.models: x\n"),
        output("stream", name="stdout", text="I0000 00:00:1796639605.008416  9659 port.cc:153] x"),
        output("display_data", data={"text/plain": "\x1b[2;36m[12/07/26 10:33:22]\x1b[0m "
                                                   "\x1b[34mINFO    \x1b[0m Loading data"}),
    ]  # fmt: skip
    assert len(log_records(logged)) == len(logged)
    shown = [
        output("stream", name="stdout", text="Run **x** (`ab12`) on `mnist`\n"),
        output("display_data", data={"text/plain": "           images    fid\nset\ngenerated"
                                                   "     100  2.654\nINFORMATION  1"}),
    ]  # fmt: skip
    assert log_records(shown) == []


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_notebook_outputs_hold_no_log_records(executed):
    _, notebook = executed
    code = [c for c in notebook.cells if c.cell_type == "code"]
    stderr = [(code.index(c), o.text) for c in code for o in c.outputs if o.get("name") == "stderr"]
    assert not stderr, f"(code cell, stderr) of the executed notebook: {stderr}"
    logged = {code.index(c): found for c in code if (found := log_records(c.outputs))}
    assert not logged, f"log records among the outputs, by code cell: {logged}"


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_notebook_names_the_kernel_kedro_jupyter_setup_installs(trained):
    _, jupyter_data = trained
    kernelspec = nbformat.read(NOTEBOOK, as_version=4).metadata.kernelspec
    installed = json.loads((jupyter_data / "kernels" / kernelspec.name / "kernel.json").read_text())
    assert installed["display_name"] == kernelspec.display_name
    assert installed["argv"][-2:] == ["--ext", "kedro.ipython"]  # loads the project as it starts


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
    assert any(f"`models:/{TEST_MODEL}@champion` is version 1" in text for text in texts)
