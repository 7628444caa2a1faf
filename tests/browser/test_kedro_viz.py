"""`kedro viz build` on a copy of the project, served over HTTP and opened in headless Chromium:
the flowchart shows the pipeline's main nodes, and the overview its pipelines in their layers.

README's picture of the pipelines is this test's overview screenshot: refresh it with
``WGAN_SCREENSHOT_DIR=docs/images pytest -n 0 tests/browser/test_kedro_viz.py`` (it writes
docs/images/kedro_viz_overview.png and the expanded graph, docs/images/kedro_viz.png)."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import Error as PlaywrightError

from ..helpers import kedro, make_project_copy
from .helpers import log_tail, save_screenshot, screenshot_on_failure, static_http_server

pytestmark = pytest.mark.browser

# Matched against the last part of a node's name, so `training.train_wgan` counts as train_wgan.
MAIN_NODES = ("scale_training_images", "train_classifier", "train_wgan", "generate_samples",
              "extract_features", "score_sets", "make_sample_grid", "release_kept")  # fmt: skip
# The overview: one collapsed box per namespaced pipeline; the pictures (reporting) and the
# registry (release) apart from the evaluation's numbers.
PIPELINES = ("data_processing", "classifier", "training", "evaluation", "reporting", "release")

# A fresh browser profile would cover the graph with kedro-viz's "feature hints" tour, and its
# minimap hides a corner of the graph: both off through kedro-viz's saved settings.
VIZ_SETTINGS = {"showFeatureHints": False, "visible": {"miniMap": False}}
SET_VIZ_SETTINGS = f"localStorage.setItem('KedroViz', {json.dumps(json.dumps(VIZ_SETTINGS))})"

GRAPH_NODES_JS = """els => els.map(e => ({
    type: e.getAttribute('data-node-type'),
    fullname: e.getAttribute('data-node-fullname') || '',
    label: (e.textContent || '').trim(),
    visible: e.getBoundingClientRect().width > 0,
}))"""

LAYER_NAMES_JS = "els => els.map(e => (e.textContent || '').trim())"
VISIBLE_COUNT_JS = "els => els.filter(e => e.getBoundingClientRect().height > 0).length"


def shown_as(node: dict, name: str) -> bool:
    """A graph node is ``name``: its visible label contains it, or its full (namespaced) name
    ends with it."""
    fullname = node["fullname"]
    return name in node["label"] or fullname == name or fullname.endswith("." + name)


def wait_for_layout_to_settle(page, timeout: float = 15) -> None:
    """kedro-viz animates the nodes into place and zooms to fit: wait until nothing moves."""
    snapshot_js = """() => Array.from(document.querySelectorAll(
        '.pipeline-flowchart svg g[transform], g.pipeline-node')).map(e =>
        e.getAttribute('transform')).join('|')"""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        now = page.evaluate(snapshot_js)
        if now == last:
            return
        last = now
        page.wait_for_timeout(500)


@pytest.mark.timeout(420)  # the first browser test may also install chromium (about 30 s here)
def test_kedro_viz_shows_the_main_nodes(tmp_path, page):
    project = make_project_copy(tmp_path, with_mnist=False)
    result = kedro(project, "viz", "build", timeout=180)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    build = project / "build"
    assert (build / "index.html").is_file() and (build / "api" / "main").is_file(), output[-3000:]
    # A cycle among the catalog's layers only logs a warning, and kedro-viz draws no layer at all.
    assert "circular dependency" not in output, output[-3000:]
    layers = json.loads((build / "api" / "main").read_text())["layers"]
    assert layers, f"kedro-viz ordered no layers:\n{output[-3000:]}"

    with static_http_server(build, tmp_path / "http.log") as url:
        # expandAllPipelines: nodes inside namespaced (modular) pipelines, not collapsed boxes
        page.add_init_script(SET_VIZ_SETTINGS)
        with screenshot_on_failure(page, "kedro_viz.png"):
            page.goto(url + "?expandAllPipelines=true", wait_until="load")
            try:
                page.wait_for_selector("g.pipeline-node--task", state="visible", timeout=30_000)
            except PlaywrightError as exc:
                raise AssertionError(
                    f"kedro-viz drew no task node at {url}: {exc}\n"
                    f"http.server log:\n{log_tail(tmp_path / 'http.log')}"
                ) from exc
            wait_for_layout_to_settle(page)
            nodes = page.eval_on_selector_all("g.pipeline-node", GRAPH_NODES_JS)

            tasks = [n for n in nodes if n["type"] == "task" and n["visible"]]
            missing = [name for name in MAIN_NODES if not any(shown_as(n, name) for n in tasks)]
            assert not missing, (
                f"kedro-viz's graph lacks the task node(s) {missing}.\n"
                f"Task nodes drawn: {json.dumps([n['fullname'] or n['label'] for n in tasks])}\n"
                f"All graph nodes: {json.dumps([(n['type'], n['label']) for n in nodes])}"
            )
            assert not page.get_by_text("Workflow run status").is_visible(), (
                "kedro-viz's feature-hints tour covers the graph"
            )
        save_screenshot(page, "kedro_viz.png")

        # The default view: the six pipelines as boxes, data flowing between them, down through
        # the catalog's layers (a band and a name each).
        with screenshot_on_failure(page, "kedro_viz_overview.png"):
            page.goto(url, wait_until="load")
            page.wait_for_selector("g.pipeline-node", state="visible", timeout=30_000)
            wait_for_layout_to_settle(page)
            nodes = page.eval_on_selector_all("g.pipeline-node", GRAPH_NODES_JS)
            boxes = {n["label"] for n in nodes if n["type"] == "modularPipeline" and n["visible"]}
            assert set(PIPELINES) <= boxes, f"pipeline boxes drawn: {sorted(boxes)}; nodes: {nodes}"
            names = page.eval_on_selector_all(".pipeline-layer-name", LAYER_NAMES_JS)
            bands = page.eval_on_selector_all("rect.pipeline-layer", VISIBLE_COUNT_JS)
            assert names == layers and bands == len(layers), (
                f"layers drawn: {names} in {bands} bands; kedro-viz ordered {layers}"
            )
        save_screenshot(page, "kedro_viz_overview.png")
