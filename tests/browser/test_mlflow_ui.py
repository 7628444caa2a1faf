"""Two real `kedro run`s in a copy of the project, served by `mlflow server`: the REST API holds
both runs, their flattened params, per-epoch metrics, images and logged models, and the UI's
compare page shows both runs and the parameter that differs."""

from __future__ import annotations

import json
import math
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from ..helpers import TEST_EXPERIMENT, kedro, make_project_copy
from .helpers import free_port, running_server, save_screenshot, screenshot_on_failure

pytestmark = pytest.mark.browser

EXPERIMENT = TEST_EXPERIMENT  # `kedro run --env test`'s, conf/test/mlflow.yml
CLIP_VALUES = ("0.1", "0.05")  # conf/base, then the second run's --params
EPOCH_METRICS = ("critic_loss", "generator_loss", "wasserstein_estimate")


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
    """A project copy whose mlflow.db holds one tiny run per clip value."""
    project = make_project_copy(tmp_path)
    for clip in CLIP_VALUES:
        extra = [] if clip == CLIP_VALUES[0] else ["--params", f"training.clip_value={clip}"]
        result = kedro(project, "run", "--env", "test", *extra)
        assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
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


def params_of(run: dict) -> dict[str, str]:
    return {p["key"]: p["value"] for p in run["data"].get("params", [])}


def check_the_store(api: MlflowApi, project: Path) -> tuple[str, dict[str, dict]]:
    """The REST API's view of the two runs; returns the experiment id and the runs by clip value."""
    experiment = api("experiments/get-by-name", experiment_name=EXPERIMENT)["experiment"]
    experiment_id = experiment["experiment_id"]
    runs = api("runs/search", {"experiment_ids": [experiment_id], "max_results": 10})["runs"]
    assert len(runs) == 2, [r["info"] for r in runs]
    by_clip = {params_of(run).get("training.clip_value"): run for run in runs}
    assert sorted(by_clip, key=str) == sorted(CLIP_VALUES), {
        r["info"]["run_name"]: params_of(r) for r in runs
    }

    first, second = (params_of(by_clip[clip]) for clip in CLIP_VALUES)
    assert first["training.epochs"] == second["training.epochs"] == "2"  # conf/test
    differing = {key for key in first.keys() | second.keys() if first.get(key) != second.get(key)}
    # kedro-mlflow also logs the CLI's --params as `runtime_params`
    assert differing - {"runtime_params"} == {"training.clip_value"}, differing

    for run in runs:
        info = run["info"]
        run_id, name = info["run_id"], info["run_name"]
        assert info["status"] == "FINISHED", info
        assert info["artifact_uri"].startswith((project / "mlruns").as_uri()), info

        for metric in EPOCH_METRICS:
            history = api("metrics/get-history", run_id=run_id, metric_key=metric)
            points = history.get("metrics", [])
            assert [p["step"] for p in points] == [1, 2], (name, metric, points)
            assert all(math.isfinite(p["value"]) for p in points), (name, metric, points)

        files = {f["path"]: f for f in api("artifacts/list", run_id=run_id).get("files", [])}
        assert files.get("sample_grid.png", {}).get("file_size", 0) > 0, (name, files)
        assert files.get("samples", {}).get("is_dir"), (name, files)
        samples = {f["path"] for f in api("artifacts/list", run_id=run_id, path="samples")["files"]}
        assert {"samples/epoch_001.png", "samples/epoch_002.png"} <= samples, (name, samples)
        # what the UI's artifact view fetches
        png = api.raw("get-artifact", path="sample_grid.png", run_uuid=run_id)
        assert png.startswith(b"\x89PNG\r\n\x1a\n"), (name, png[:40])

    models = api("logged-models/search", {"experiment_ids": [experiment_id]}).get("models", [])
    generators = {m["info"]["source_run_id"] for m in models if m["info"]["name"] == "generator"}
    assert generators == {run["info"]["run_id"] for run in runs}, [m["info"] for m in models]
    return experiment_id, by_clip


def compare_page_url(base: str, experiment_id: str, run_ids: list[str]) -> str:
    """The MLflow 3 UI's own link (a hash route): #/compare-runs?runs=[...]&experiments=[...]."""
    query = urllib.parse.urlencode(
        {"runs": json.dumps(run_ids), "experiments": json.dumps([experiment_id])}
    )
    return f"{base}/#/compare-runs?{query}"


def row_values(page, header: str) -> list[str]:
    """The cells of the compare table's row whose header cell reads ``header``."""
    row = page.locator("tr").filter(has=page.locator(f"th:text-is({json.dumps(header)})"))
    return [text.strip() for text in row.first.locator("td").all_inner_texts()]


@pytest.mark.timeout(480)  # two kedro runs, the server's start; maybe a chromium install
def test_mlflow_ui_compares_two_runs(two_runs, mlflow_api, page):
    experiment_id, by_clip = check_the_store(mlflow_api, two_runs)
    names = {clip: run["info"]["run_name"] for clip, run in by_clip.items()}

    url = compare_page_url(
        mlflow_api.base, experiment_id, [by_clip[c]["info"]["run_id"] for c in CLIP_VALUES]
    )
    with screenshot_on_failure(page, "mlflow_compare.png"):
        page.goto(url, wait_until="load")
        page.locator("th:text-is('training.clip_value')").first.wait_for(timeout=60_000)
        # The MLflow Assistant panel opens on a first visit and covers a third of the page.
        close_assistant = page.locator("[data-component-id='mlflow.assistant.chat_panel.close']")
        if close_assistant.is_visible():
            close_assistant.click()

        shown_names = row_values(page, "Run Name:")
        assert sorted(shown_names) == sorted(names.values()), (shown_names, names)
        clip_cells = row_values(page, "training.clip_value")
        assert sorted(clip_cells) == sorted(CLIP_VALUES), clip_cells
        for clip, name in names.items():  # each value under its own run's column
            assert clip_cells[shown_names.index(name)] == clip, (clip_cells, shown_names, names)

        # For the picture: the runs and only what differs, the plots folded away.
        page.get_by_role("switch", name=re.compile("Parameters - Show diff only")).click()
        page.locator("[aria-label='collapse Visualizations']").click()
        assert sorted(row_values(page, "training.clip_value")) == sorted(CLIP_VALUES)
        page.get_by_text("Run Name:").scroll_into_view_if_needed()
        page.wait_for_timeout(500)  # the collapse animation
    save_screenshot(page, "mlflow_compare.png")
