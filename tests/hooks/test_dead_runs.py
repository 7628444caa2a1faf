"""RunLifecycleHook: a run whose process died is marked KILLED by the next session; live ones and
an orchestrator's are left alone."""

import subprocess
import sys

import mlflow
from kedro.framework.hooks import hook_impl
from kedro.framework.hooks.manager import _create_hook_manager

from wgan_pipeline.hooks import RunLifecycleHook
from wgan_pipeline.lifecycle import close_dead_runs, mark_live


class StartsRuns:
    """What kedro-mlflow does before a run: start one unless one is active."""

    @hook_impl
    def before_pipeline_run(self, run_params, pipeline, catalog):
        if mlflow.active_run() is None:
            mlflow.start_run()


class Context:
    def __init__(self, project_path):
        self.project_path = project_path


def start_session(project):
    manager = _create_hook_manager()
    manager.register(StartsRuns())
    hook = RunLifecycleHook()
    manager.register(hook)
    manager.hook.after_context_created(context=Context(project))
    manager.hook.before_pipeline_run(run_params={}, pipeline=None, catalog=None)
    return manager, hook


def status(run_id: str) -> str:
    return mlflow.MlflowClient().get_run(run_id).info.status


def test_a_run_left_by_a_killed_process_is_marked_killed_by_the_next(tracking_uri, tmp_path):
    """A real process marks its run live and dies with SIGKILL, its run RUNNING."""
    folder = tmp_path / "data" / ".runs"
    code = (
        "import mlflow, os, signal\n"
        "from pathlib import Path\n"
        "from wgan_pipeline.lifecycle import mark_live\n"
        f"mlflow.set_tracking_uri({tracking_uri!r})\n"
        "run = mlflow.start_run()\n"
        f"mark_live(Path({str(folder)!r}), run.info.run_id)\n"
        "print(run.info.run_id, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120
    )
    dead = done.stdout.strip()
    assert status(dead) == "RUNNING"

    manager, _ = start_session(tmp_path)
    assert status(dead) == "KILLED"
    assert not (folder / f"{dead}.json").exists()
    ours = mlflow.active_run().info.run_id
    assert (folder / f"{ours}.json").exists()  # this session's, locked while it runs
    manager.hook.after_pipeline_run(run_params={}, run_result={}, pipeline=None, catalog=None)
    assert not (folder / f"{ours}.json").exists()
    mlflow.end_run()


def test_a_live_run_is_left_running(tracking_uri, tmp_path):
    folder = tmp_path / ".runs"
    run_id = mlflow.start_run().info.run_id
    path, handle = mark_live(folder, run_id)  # held by this (live) process
    mlflow.end_run()
    mlflow.MlflowClient().update_run(run_id, "RUNNING")
    try:
        assert close_dead_runs(folder) == []
        assert status(run_id) == "RUNNING"
        assert path.exists()
    finally:
        handle.close()
    assert close_dead_runs(folder) == [run_id]  # the lock is gone: its process is taken as dead


def test_an_orchestrators_run_gets_no_marker(tracking_uri, tmp_path):
    outer = mlflow.start_run().info.run_id  # opened before the session: not ours to close
    start_session(tmp_path)
    assert not (tmp_path / "data" / ".runs" / f"{outer}.json").exists()
    mlflow.end_run()
