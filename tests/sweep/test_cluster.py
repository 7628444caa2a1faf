"""`kedro sweep` end to end, on real services: a local Ray cluster joined by address, an MLflow
server backed by PostgreSQL with proxied artifacts. Three trials of the tiny test run, two at
once; one trial's training process is SIGKILLed mid-training and must be retried."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from ..helpers import kedro, make_project_copy

pytestmark = [pytest.mark.sweep, pytest.mark.e2e, pytest.mark.timeout(900)]


def rest(server: str, path: str, body: dict | None = None) -> dict:
    """One call of MLflow's REST API (POST with a body, else GET)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{server}/api/2.0/mlflow/{path}", data=data,
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def cluster_project(root: Path, server: str) -> Path:
    """A project copy whose `cluster` env tracks to ``server`` and runs the test sweep: the
    test run's parameters, sweep and judge (conf/test) with conf/cluster's mlflow.yml pointed
    here."""
    project = make_project_copy(root)
    cluster = project / "conf" / "cluster"
    mlflow_yml = (cluster / "mlflow.yml").read_text()
    (cluster / "mlflow.yml").write_text(
        re.sub(r"mlflow_tracking_uri: \S+", f"mlflow_tracking_uri: {server}", mlflow_yml)
    )
    for name in ("parameters.yml", "sweep.yml", "globals.yml"):
        shutil.copy(project / "conf" / "test" / name, cluster / name)
    return project


class KillOneTraining(threading.Thread):
    """Waits for the first trial whose training wrote a checkpoint, then SIGKILLs its
    `kedro run` (the training process). ``killed`` is that trial's id."""

    def __init__(self, project: Path):
        super().__init__(daemon=True)
        self.project, self.killed, self.stop = project, None, threading.Event()

    def run(self) -> None:
        sweeps = self.project / "data" / "sweeps"
        while not self.stop.is_set():
            for checkpoint in sweeps.glob("*/*/06_models/mnist/checkpoints/run-*/step-*"):
                trial = checkpoint.parts[len(sweeps.parts) + 1]
                if self._kill(
                    f"output_root=data/sweeps/{checkpoint.parts[len(sweeps.parts)]}/{trial}"
                ):
                    self.killed = trial
                    return
            time.sleep(0.1)

    @staticmethod
    def _kill(marker: str) -> bool:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "kedro run" in cmdline and marker in cmdline:
                os.kill(int(pid), signal.SIGKILL)
                return True
        return False


@pytest.fixture(scope="module")
def swept(tmp_path_factory, mlflow_server, ray_cluster, postgres):
    root = tmp_path_factory.mktemp("sweep")
    project = cluster_project(root, mlflow_server)
    classifier = kedro(project, "run", "--env", "test", "--pipelines", "classifier")
    assert classifier.returncode == 0, (classifier.stdout + classifier.stderr)[-3000:]
    killer = KillOneTraining(project)
    killer.start()
    started = time.monotonic()
    done = kedro(project, "sweep", "--env", "cluster", "--address", ray_cluster, timeout=840)
    seconds = time.monotonic() - started
    killer.stop.set()
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    (root / "sweep.log").write_text(output)
    experiment = rest(mlflow_server, "experiments/get-by-name?experiment_name=wgan_pipeline")
    runs = rest(mlflow_server, "runs/search", {
        "experiment_ids": [experiment["experiment"]["experiment_id"]], "max_results": 100,
    }).get("runs", [])  # fmt: skip
    return {"project": project, "runs": runs, "killed": killer.killed, "output": output,
            "seconds": seconds, "server": mlflow_server, "postgres": postgres}  # fmt: skip


def tags(run: dict) -> dict:
    return {t["key"]: t["value"] for t in run["data"].get("tags", [])}


def values(run: dict, kind: str) -> dict:
    return {m["key"]: m["value"] for m in run["data"].get(kind, [])}


def parent_and_children(swept) -> tuple[dict, list[dict]]:
    parents = [r for r in swept["runs"] if tags(r).get("mlflow.runName") == "test-sweep"]
    assert len(parents) == 1, [tags(r).get("mlflow.runName") for r in swept["runs"]]
    parent = parents[0]
    children = [r for r in swept["runs"]
                if tags(r).get("mlflow.parentRunId") == parent["info"]["run_id"]]  # fmt: skip
    return parent, children


def test_one_parent_and_one_finished_child_per_trial(swept):
    parent, children = parent_and_children(swept)
    assert parent["info"]["status"] == "FINISHED"
    finished = [r for r in children if r["info"]["status"] == "FINISHED"]
    trials = sorted(tags(r)["sweep.trial_id"] for r in finished)
    assert len(finished) == 3 and len(set(trials)) == 3, trials
    swept_keys = ("training.clip_value", "training.n_critic", "training.learning_rate")
    combos = {tuple(values(r, "params")[k] for k in swept_keys) for r in finished}
    assert len(combos) == 3  # each trial its own values
    for run in finished:
        params, metrics = values(run, "params"), values(run, "metrics")
        assert tags(run)["mlflow.runName"].startswith(f"trial-{tags(run)['sweep.trial_id']}")
        assert 0.01 <= float(params["training.clip_value"]) <= 0.1
        assert 1 <= int(params["training.n_critic"]) <= 3
        assert params["training.epochs"] == "3"  # the spec's fixed params
        assert metrics["eval.generated.fid"] > 0
        assert "system/cpu_utilization_percentage" in metrics  # system metrics, every run


def test_the_parent_holds_the_best_trial_and_the_table(swept):
    parent, children = parent_and_children(swept)
    finished = [r for r in children if r["info"]["status"] == "FINISHED"]
    best = min(finished, key=lambda r: values(r, "metrics")["eval.generated.fid"])
    metrics, params = values(parent, "metrics"), values(parent, "params")
    assert metrics["best.eval.generated.fid"] == values(best, "metrics")["eval.generated.fid"]
    assert params["best.run_id"] == best["info"]["run_id"]
    assert metrics["trials.finished"] == 3
    listed = rest(swept["server"], f"artifacts/list?run_id={parent['info']['run_id']}")
    assert {"sweep.yml", "trials.csv", "sweep.png"} <= {f["path"] for f in listed["files"]}


def test_artifacts_download_through_the_server(swept):
    """Proxied artifacts: the client needs no access to the server's disk."""
    _, children = parent_and_children(swept)
    run = next(r for r in children if r["info"]["status"] == "FINISHED")
    experiment, run_id = run["info"]["experiment_id"], run["info"]["run_id"]
    url = (f"{swept['server']}/api/2.0/mlflow-artifacts/artifacts/{experiment}/{run_id}"
           "/artifacts/sample_grid.png")  # fmt: skip
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.read(8) == b"\x89PNG\r\n\x1a\n"


def test_the_killed_training_is_retried_and_resumes(swept):
    """SIGKILL of one trial's kedro run mid-training: that attempt ends KILLED (not RUNNING),
    Ray retries the trial, the retry resumes from the trial's checkpoint and finishes."""
    killed = swept["killed"]
    assert killed is not None, "no training was killed: the test's watcher found none running"
    _, children = parent_and_children(swept)
    attempts = sorted((r for r in children if tags(r)["sweep.trial_id"] == killed),
                      key=lambda r: int(tags(r)["sweep.attempt"]))  # fmt: skip
    assert [r["info"]["status"] for r in attempts] == ["KILLED", "FINISHED"]
    assert not [r for r in children if r["info"]["status"] == "RUNNING"]
    log = swept["project"] / "data" / "sweeps"
    retry_log = next(log.glob(f"*/{killed}/kedro-run-2.log")).read_text()
    assert "Resuming training from checkpoint" in retry_log


def test_the_runs_are_rows_in_postgresql(swept):
    parent, children = parent_and_children(swept)
    rows = dict(swept["postgres"].query("SELECT run_uuid, status FROM runs"))
    assert rows[parent["info"]["run_id"]] == "FINISHED"
    assert {r["info"]["run_id"] for r in children} <= set(rows)
