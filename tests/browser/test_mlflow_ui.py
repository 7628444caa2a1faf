"""Two real `kedro run --env quick`s in a fresh copy of the project, the second with
``--params training.learning_rate=5e-4``, served by `mlflow server`.

Through the REST API: both runs FINISHED in the user's experiment ``wgan_pipeline`` (a model
training one), named after their overrides, with the headline metrics (``FID``, ...), the epoch
metric histories, each epoch's sample grid as a step-indexed image (key ``samples``, step = epoch)
and the data set as their input. In Chromium: the experiment's link with
``?workflowType=machine_learning`` opens on its training runs (without it, on the GenAI
overview); the runs table shows both run names and, once added through its column selector, an
``FID`` column with both runs' values; ticking both runs and pressing Compare shows the learning
rate that differs (MLflow's Compare page has no step-indexed images); the runs page's Chart view
(its compare mode, ``compareRunsMode=CHART``) shows both runs' ``samples`` images side by side,
step by step. README's pictures come from here: ``mlflow_runs.png``, ``mlflow_compare.png``.

The runs are shrunk by default (a few epochs on a few images, a quickly trained judge) with the
extra ``--params`` in ``$WGAN_UI_RUN_PARAMS``; set it to an empty string for the real quick runs,
as README's pictures are made (about 6 minutes on 2 CPU cores)::

    WGAN_SCREENSHOT_DIR=docs/images WGAN_UI_RUN_PARAMS= pytest -n 0 tests/browser/test_mlflow_ui.py
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from ..helpers import USER_EXPERIMENT, kedro, make_project_copy
from .helpers import free_port, running_server, save_screenshot, screenshot_on_failure

pytestmark = pytest.mark.browser

# Extra --params for both runs, so the test fits the suite's time; "" for the full quick runs.
SHRINK_ENV = "WGAN_UI_RUN_PARAMS"
DEFAULT_SHRINK = (
    "training.epochs=2,data.max_train_images=2000,classifier.max_train_images=5000,"
    "classifier.epochs=1,classifier.min_test_accuracy.mnist=0.5"  # the judge reaches ~0.88
)
# The second run's own override, first in its --params (so first in its name after the env)
LEARNING_RATE = ("training.learning_rate", "5e-4", "0.0005")  # key, as typed, as logged
QUICK_LEARNING_RATE = "0.001"  # conf/quick's 1.0e-3, as logged
HEADLINE_METRICS = ("FID", "Precision", "Recall", "Targets met", "Kept epoch")
EPOCH_METRICS = ("critic_loss", "generator_loss", "wasserstein_estimate")
IMAGE_KEY = "samples"  # MlflowSink.epoch: mlflow.log_image(key=..., step=epoch)
# MLflow 3.17's files for log_image(key, step): images/<key>+step+<step>+timestamp+<ms>+<uuid>
# .png and a small copy, ...+compressed.webp, which the UI shows (tracking/client.py log_image)
STEP_IMAGE = re.compile(
    rf"^images/{IMAGE_KEY}\+step\+(?P<step>\d+)\+timestamp\+\d+\+[0-9a-f-]+"
    r"(?P<compressed>\+compressed\.webp|\.png)$"
)


def shrinking() -> str:
    return os.environ.get(SHRINK_ENV, DEFAULT_SHRINK).strip()


def shrinking_keys() -> list[str]:
    return [item.partition("=")[0].strip() for item in shrinking().split(",") if item.strip()]


def run_commands() -> list[list[str]]:
    """The two `kedro run`s: conf/quick as it is, then with the lower learning rate."""
    shrink = [shrinking()] if shrinking() else []
    key, typed, _ = LEARNING_RATE
    return [
        ["run", "--env", "quick", *(["--params", *shrink] if shrink else [])],
        ["run", "--env", "quick", "--params", ",".join([f"{key}={typed}", *shrink])],
    ]


class MlflowApi:
    """The tracking server's REST API, JSON in and out; HTTP errors show the server's reply."""

    def __init__(self, base: str):
        self.base = base

    def __call__(self, endpoint: str, body: dict | None = None, /, **query) -> dict:
        url = f"{self.base}/api/2.0/mlflow/{endpoint}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            url, data=data, method="GET" if body is None else "POST",
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            raise AssertionError(
                f"{request.method} {url} {body}: {exc}: {exc.read()[:2000]}"
            ) from exc

    def raw(self, route: str, /, **query) -> bytes:
        url = f"{self.base}/{route}?" + urllib.parse.urlencode(query)
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.read()


@pytest.fixture
def two_runs(tmp_path) -> Path:
    """A fresh project copy whose mlflow.db holds the two quick runs, oldest first."""
    project = make_project_copy(tmp_path)
    for args in run_commands():
        result = kedro(project, *args, timeout=900)
        assert result.returncode == 0, (args, (result.stdout + result.stderr)[-5000:])
    assert (project / "mlflow.db").is_file()
    return project


@pytest.fixture
def mlflow_api(two_runs, tmp_path):
    """`mlflow server` on the copy's store (artifacts stay where the runs put them: the copy's
    mlruns/), stopped with its workers when the test ends, however it ends."""
    port = free_port()
    args = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{two_runs / 'mlflow.db'}",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    # No background job runner (7 huey consumers, for GenAI features): the UI does not need it
    # and it competes with the server's start for the CPUs.
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    # cwd: the copy, so anything the server writes next to itself (./mlartifacts) stays there
    with running_server(args, two_runs, tmp_path / "mlflow-server.log", env) as server:
        base = f"http://127.0.0.1:{port}"
        server.wait_for_http(f"{base}/health", timeout=120)
        yield MlflowApi(base)


# --- the REST API's view ----------------------------------------------------------------------


@dataclass
class Run:
    id: str
    name: str
    fid: float
    epochs: int
    images: dict[int, str]  # step -> the compressed copy the UI shows


def params_of(run: dict) -> dict[str, str]:
    return {p["key"]: p["value"] for p in run["data"].get("params", [])}


def step_images(api: MlflowApi, run_id: str) -> tuple[dict[int, str], dict[int, str]]:
    """The run's step-indexed ``samples`` images: step -> path, full size and compressed."""
    listed = api("artifacts/list", run_id=run_id, path="images").get("files", [])
    full, small = {}, {}
    for item in listed:
        match = STEP_IMAGE.match(item["path"])
        assert match and item["file_size"] > 0, (run_id, item, [f["path"] for f in listed])
        found = small if match["compressed"] != ".png" else full
        step = int(match["step"])
        assert step not in found, (run_id, "two images at one step", item, found[step])
        found[step] = item["path"]
    return full, small


def check_run(api: MlflowApi, run: dict, project: Path, epochs: int) -> Run:
    """One run's status, headline metrics, epoch histories, step-indexed images and input."""
    info = run["info"]
    run_id, name = info["run_id"], info["run_name"]
    assert info["status"] == "FINISHED", info
    assert info["artifact_uri"].startswith((project / "mlruns").as_uri()), info

    metrics = {m["key"]: m["value"] for m in run["data"].get("metrics", [])}
    missing = [m for m in HEADLINE_METRICS if m not in metrics]
    assert not missing, (name, missing, sorted(metrics))
    assert math.isfinite(metrics["FID"]) and metrics["FID"] > 0, (name, metrics["FID"])
    assert 1 <= metrics["Kept epoch"] <= epochs, (name, metrics["Kept epoch"])
    for metric in EPOCH_METRICS:
        history = api("metrics/get-history", run_id=run_id, metric_key=metric)
        points = history.get("metrics", [])
        assert [p["step"] for p in points] == list(range(1, epochs + 1)), (name, metric)
        assert all(math.isfinite(p["value"]) for p in points), (name, metric, points)

    # each epoch's grid as a step-indexed image, full size and the UI's compressed copy
    full, small = step_images(api, run_id)
    steps = list(range(1, epochs + 1))
    assert sorted(full) == sorted(small) == steps, (name, full, small)
    assert {t["key"]: t["value"] for t in run["data"]["tags"]}.get(
        "mlflow.loggedImages"
    ).lower() == "true", name  # the Chart view looks for images only in runs with this tag
    png = api.raw("get-artifact", path=full[epochs], run_uuid=run_id)
    assert png.startswith(b"\x89PNG\r\n\x1a\n"), (name, png[:40])
    with Image.open(io.BytesIO(png)) as grid:  # digits on black, not a blank picture
        assert np.asarray(grid.convert("L"), np.float32).std() > 10, (name, full[epochs])
    webp = api.raw("get-artifact", path=small[epochs], run_uuid=run_id)
    assert webp[:4] == b"RIFF" and webp[8:12] == b"WEBP", (name, webp[:16])
    # ... and by name, to download
    named = {f["path"] for f in api("artifacts/list", run_id=run_id, path="samples")["files"]}
    assert {f"samples/epoch_{s:03d}.png" for s in steps} <= named, (name, named)

    # the data set as the run's input
    inputs = api("runs/get", run_id=run_id)["run"].get("inputs", {}).get("dataset_inputs", [])
    assert len(inputs) == 1, (name, inputs)
    dataset = inputs[0]["dataset"]
    assert dataset["name"] == "mnist" and "mnist.npz" in dataset["source"], (name, dataset)
    context = {t["key"]: t["value"] for t in inputs[0].get("tags", [])}
    assert context.get("mlflow.data.context") == "training", (name, context)

    return Run(run_id, name, metrics["FID"], epochs, small)


def check_the_store(api: MlflowApi, project: Path) -> tuple[str, list[Run]]:
    """The REST API's view of the two runs; returns the experiment id and the runs, the quick
    one first."""
    experiment = api("experiments/get-by-name", experiment_name=USER_EXPERIMENT)["experiment"]
    experiment_id = experiment["experiment_id"]
    tags = {t["key"]: t["value"] for t in experiment.get("tags", [])}
    # a model training experiment (MLflow 3.17's UI still opens it on its GenAI overview
    # unless the link says ?workflowType=machine_learning: runs_page_url)
    assert tags.get("mlflow.experimentKind") == "custom_model_development", tags

    found = api("runs/search", {"experiment_ids": [experiment_id], "max_results": 10})["runs"]
    assert len(found) == 2, [r["info"] for r in found]
    key, _, logged = LEARNING_RATE
    by_rate = {params_of(run).get(key): run for run in found}
    assert sorted(by_rate, key=str) == sorted([QUICK_LEARNING_RATE, logged]), {
        r["info"]["run_name"]: params_of(r).get(key) for r in found
    }
    ordered = [by_rate[QUICK_LEARNING_RATE], by_rate[logged]]

    # The names: the env and the --params, so they differ by the learning rate alone.
    first_name, second_name = (run["info"]["run_name"] for run in ordered)
    assert first_name != second_name, first_name
    assert first_name.startswith("quick") and second_name.startswith("quick · "), ordered
    assert key not in first_name and f"{key}={logged}" in second_name, (first_name, second_name)
    for name in (first_name, second_name):
        for shrunk in shrinking_keys():
            assert f"{shrunk}=" in name, (shrunk, name)
    if not shrinking():
        assert (first_name, second_name) == ("quick", f"quick · {key}={logged}")

    first, second = (params_of(run) for run in ordered)
    differing = {k for k in first.keys() | second.keys() if first.get(k) != second.get(k)}
    # kedro-mlflow also logs the CLI's --params as `runtime_params`
    assert differing - {"runtime_params"} == {key}, differing
    epochs = int(first["training.epochs"])

    runs = [check_run(api, run, project, epochs) for run in ordered]

    models = api("logged-models/search", {"experiment_ids": [experiment_id]}).get("models", [])
    generators = {m["info"]["source_run_id"] for m in models if m["info"]["name"] == "generator"}
    assert generators == {run.id for run in runs}, [m["info"] for m in models]
    return experiment_id, runs


# --- the UI -----------------------------------------------------------------------------------


def runs_page_url(base: str, experiment_id: str) -> str:
    """The experiment's link as it opens on its training runs: without the workflowType, MLflow
    3.17 opens an experiment on its GenAI overview (unless this browser once pressed "Model
    training"), whatever the experiment's kind."""
    return f"{base}/#/experiments/{experiment_id}/runs?workflowType=machine_learning"


def close_assistant(page) -> None:
    """The MLflow Assistant panel opens on a first visit and covers a third of the page."""
    close = page.locator("[data-component-id='mlflow.assistant.chat_panel.close']")
    try:
        close.wait_for(state="visible", timeout=3_000)
    except PlaywrightTimeoutError:  # it did not open
        return
    close.click()


def cell(page, run_id: str, column: str):
    """The runs table's cell of run ``run_id`` in column ``column`` (AG Grid's col-id)."""
    return page.locator(f'[role=row][row-id="{run_id}"] [role=gridcell][col-id="{column}"]')


def choose_columns(page, wanted: dict[str, bool]) -> list[str]:
    """Show (True) or hide (False) columns through the runs table's column selector, as a user
    does: search each by name, tick or untick it. Returns the names it had to change."""
    page.get_by_role("button", name="Columns").click()
    search = page.get_by_placeholder("Search columns")
    changed = []
    for name, show in wanted.items():
        search.fill(name)
        title = page.locator(".du-bois-light-tree-title").get_by_text(name, exact=True)
        node = page.locator(".du-bois-light-tree-treenode").filter(has=title)
        shown = "du-bois-light-tree-treenode-checkbox-checked" in (
            node.get_attribute("class") or ""
        )
        if shown != show:
            title.click()
            changed.append(name)
    page.keyboard.press("Escape")
    return changed


def widen_column(page, column: str, width: int) -> None:
    """Drag the right edge of a runs table header to make the column ``width`` pixels wide."""
    header = page.locator(f'[role=columnheader][col-id="{column}"]')
    now = header.bounding_box()["width"]
    edge = header.locator(".ag-header-cell-resize").bounding_box()
    # its left part: the next header's label covers the rest
    x, y = edge["x"] + 2, edge["y"] + edge["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for part in (1, 2, 3, 4):
        page.mouse.move(x + (width - now) * part / 4, y)
    page.mouse.up()
    assert abs(header.bounding_box()["width"] - width) < 10, (column, header.bounding_box())


def row_values(page, header: str) -> list[str]:
    """The Compare page's cells of the row whose header cell reads ``header``."""
    row = page.locator("tr").filter(has=page.locator(f"th:text-is({json.dumps(header)})"))
    return [text.strip() for text in row.first.locator("td, th").all_inner_texts()][1:]


def shown_images(scope) -> dict[str, str]:
    """The artifact images loaded in ``scope``: run id -> artifact path."""
    sources = scope.locator("img").evaluate_all(
        "els => els.filter(e => e.complete && e.naturalWidth > 0).map(e => e.src)"
    )
    shown = {}
    for source in sources:
        url = urllib.parse.urlsplit(source)
        if url.path.endswith("/get-artifact"):
            query = dict(urllib.parse.parse_qsl(url.query))
            shown[query["run_uuid"]] = query["path"]
    return shown


def wait_for_images(page, scope, runs: list[Run], step: int, timeout: float = 30) -> None:
    """Until ``scope`` shows each run's step-``step`` image, loaded, and no other."""
    expected = {run.id: run.images[step] for run in runs}
    deadline = time.monotonic() + timeout
    while (shown := shown_images(scope)) != expected and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    assert shown == expected, f"step {step}: shown {shown}, expected {expected}"


def set_step(scope, step: int) -> None:
    """Type the step into the image chart's step box, as a user does (it takes the value as it
    loses the focus, not on Enter)."""
    box = scope.locator("input[type=number]")
    box.fill(str(step))
    box.press("Tab")


def check_runs_table(page, base: str, experiment_id: str, runs: list[Run]) -> None:
    page.goto(runs_page_url(base, experiment_id), wait_until="load")
    for run in runs:  # each run's name in its row, linking to the run
        link = cell(page, run.id, "attributes.`Run Name`").locator("a")
        link.wait_for(timeout=60_000)
        assert link.inner_text().strip() == run.name, (link.inner_text(), run.name)
    assert "/runs" in page.url and "workflowType=machine_learning" in page.url, page.url
    page.get_by_text(f"{len(runs)} matching runs").wait_for()
    close_assistant(page)

    # MLflow 3.17 shows no metric as a column until the user adds it: FID (and the learning
    # rate, which tells the two runs apart), with two attribute columns fewer so both fit
    # beside the names.
    fid, rate = "metrics.`FID`", f"params.`{LEARNING_RATE[0]}`"
    choose_columns(page, {"FID": True, LEARNING_RATE[0]: True, "Source": False, "Models": False})
    for column in (fid, rate):
        page.locator(f'[role=columnheader][col-id="{column}"]').wait_for()
    assert page.locator(f'[role=columnheader][col-id="{fid}"]').inner_text().strip() == "FID"
    for run, shown_rate in zip(runs, (QUICK_LEARNING_RATE, LEARNING_RATE[2]), strict=True):
        shown = cell(page, run.id, fid)
        shown.wait_for()
        assert shown.is_visible(), run.name
        assert math.isclose(float(shown.inner_text()), run.fid, rel_tol=1e-3), (
            shown.inner_text(), run.fid, run.name,
        )  # fmt: skip
        assert cell(page, run.id, rate).inner_text().strip() == shown_rate, run.name
    widen_column(page, "attributes.`Run Name`", 340)

    page.set_viewport_size({"width": 1400, "height": 460})  # the picture: no empty page below
    page.wait_for_timeout(500)
    for run in runs:
        assert cell(page, run.id, fid).is_visible(), run.name
    save_screenshot(page, "mlflow_runs.png")
    page.set_viewport_size({"width": 1400, "height": 900})


def check_compare_page(page, runs: list[Run]) -> None:
    """Tick both runs, press Compare: the runs' names and the learning rate that differs."""
    for run in runs:
        row = page.locator(f'[role=row][row-id="{run.id}"]')
        row.get_by_role("checkbox", name=re.compile("toggle row selection")).check()
    page.get_by_role("button", name="Compare", exact=True).click()
    page.locator(f"th:text-is('{LEARNING_RATE[0]}')").first.wait_for(timeout=60_000)
    assert "/compare-runs" in page.url, page.url
    ids = row_values(page, "Run ID:")
    assert sorted(ids) == sorted(run.id for run in runs), ids
    names = dict(zip(ids, row_values(page, "Run Name:"), strict=True))
    rates = dict(zip(ids, row_values(page, LEARNING_RATE[0]), strict=True))
    for run, rate in zip(runs, (QUICK_LEARNING_RATE, LEARNING_RATE[2]), strict=True):
        assert names[run.id] == run.name, (names, run)
        assert rates[run.id] == rate, (rates, run)
    page.go_back()


def check_image_chart(page, runs: list[Run]) -> None:
    """The Chart view (the runs page's compare mode): the ``samples`` chart shows each run's
    grid at the step its slider picks, epoch by epoch. MLflow starts it at step 0 ("No image
    logged at this step": the epochs count from 1), so the user sets the step in its Configure
    dialog and hides the parameters it lists under each run name."""
    page.locator("label").filter(
        has=page.locator("input[name=runs-view-mode][value=CHART]")
    ).click()  # the chart icon beside the table's
    assert "compareRunsMode=CHART" in page.url, page.url
    page.get_by_placeholder("Search metric charts").fill(IMAGE_KEY)
    card = page.get_by_test_id("experiment-view-compare-runs-card").filter(
        has=page.get_by_role("heading", name=IMAGE_KEY, exact=True)
    )
    card.wait_for(timeout=60_000)
    epochs = runs[0].epochs

    card.get_by_test_id("experiment-view-compare-runs-card-menu").click()
    page.get_by_role("menuitem", name="Configure").click()
    dialog = page.get_by_role("dialog", name="Edit chart")
    set_step(dialog, epochs)
    shows_params = dialog.get_by_role("switch", name="Show run parameters")
    if shows_params.get_attribute("aria-checked") == "true":
        shows_params.click()
    wait_for_images(page, dialog, runs, epochs)  # the dialog's preview
    dialog.get_by_role("button", name="Save changes").click()
    dialog.wait_for(state="hidden")
    wait_for_images(page, card, runs, epochs)

    # Full screen, the picture's size: the runs side by side with their names, the step slider.
    page.set_viewport_size({"width": 900, "height": 540})
    card.locator("[data-component-id=fullscreen_button_chartcard]").click()
    full = page.get_by_role("dialog", name=IMAGE_KEY)
    full.wait_for()
    slider = full.get_by_role("slider")
    assert (slider.get_attribute("aria-valuemin"), slider.get_attribute("aria-valuemax")) == (
        "1", str(epochs),
    )  # fmt: skip
    wait_for_images(page, full, runs, epochs)
    shown = full.inner_text()
    for run in runs:
        assert run.name in shown, (run.name, shown[:1000])
    for step in (1, epochs):  # the first epoch's digits, then the last's again
        set_step(full, step)
        wait_for_images(page, full, runs, step)
    page.mouse.move(0, 0)  # no hover highlight on a picture
    page.wait_for_timeout(300)
    save_screenshot(page, "mlflow_compare.png")


# Measured on 2 CPU cores, alone: 1.5 min with the default shrinking (two ~35 s runs, the
# server's start, 10 s of browser); 6 min with the full quick runs (the judge trained once).
@pytest.mark.timeout(420 if shrinking() else 1200)
def test_mlflow_ui_compares_two_quick_runs(two_runs, mlflow_api, page):
    experiment_id, runs = check_the_store(mlflow_api, two_runs)
    with screenshot_on_failure(page, "mlflow_runs.png"):
        check_runs_table(page, mlflow_api.base, experiment_id, runs)
        check_compare_page(page, runs)
    with screenshot_on_failure(page, "mlflow_compare.png"):
        check_image_chart(page, runs)
