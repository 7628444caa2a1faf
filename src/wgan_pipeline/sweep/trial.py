"""One sweep trial: a real ``kedro run`` of the project, in its own process, as one MLflow child
run of the sweep's parent run.

Ray Tune calls :func:`run_trial` in a worker on whichever node has the trial's resources. It
creates the trial's MLflow run (a child: ``mlflow.parentRunId``), then runs ``kedro run --env ...
--pipelines ... --params <fixed>,<trial's>,output_root=<the trial's folder>`` with
``MLFLOW_RUN_ID`` set, so kedro-mlflow logs into that run: the same validation, checkpoints,
outputs and hooks as any run. While it trains, the per-epoch metric it logs is read back from
MLflow and reported to Tune (the scheduler's input); at the end, the final metric.

A process that dies of a signal (SIGKILL, OOM, a lost node) ends its run KILLED and raises, so
Ray retries the trial (``FailureConfig``): on the same node the retry resumes from the trial's
checkpoint, elsewhere it starts over, as a new child run with the same ``sweep.trial_id``. A
run that fails on its own (diverged, bad data) ends FAILED and reports NaN: Optuna records the
trial as failed, and the sweep goes on without a retry.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import RunStatus

logger = logging.getLogger(__name__)

PARENT_TAG = "mlflow.parentRunId"
TRIAL_TAG, ATTEMPT_TAG, SWEEP_TAG = "sweep.trial_id", "sweep.attempt", "sweep.name"


class TrialProcessDied(RuntimeError):
    """The trial's ``kedro run`` was killed by a signal: Ray retries the trial."""


@dataclass(frozen=True)
class TrialJob:
    """What every trial of one sweep shares (pickled to the workers)."""

    project: str  # the project's path, the same on every node
    env: str
    pipeline: str
    fixed: dict[str, Any]  # --params of every trial
    tracking_uri: str
    experiment_id: str
    parent_run_id: str
    sweep: str  # the sweep's folder name under data/sweeps/
    metric: str
    epoch_metric: str | None
    cpus: float
    poll_seconds: float = 2.0
    extra_env: dict[str, str] = field(default_factory=dict)


def params_argument(values: dict[str, Any]) -> str:
    """``--params`` of ``kedro run``: ``a.b=1,c=x`` (Kedro splits on commas and the first =)."""
    for key, value in values.items():
        if isinstance(value, list | dict) or "," in str(value):
            raise ValueError(f"--params cannot carry {key}={value!r}: a list or a comma")
    return ",".join(f"{key}={_text(value)}" for key, value in values.items())


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    return repr(value) if isinstance(value, float) else str(value)


def trial_folder(sweep: str, trial_id: str) -> str:
    """The trial's output_root, relative to the project: models, checkpoints and reports."""
    return f"data/sweeps/{sweep}/{trial_id}"


def thread_env(cpus: float) -> dict[str, str]:
    """TensorFlow's and OpenMP's thread counts from the trial's CPU share, so trials that run
    side by side do not each take every core."""
    threads = str(max(1, math.floor(cpus)))
    return {"TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": "1",
            "OMP_NUM_THREADS": threads}  # fmt: skip


def die_with_parent(command: list[str]) -> list[str]:
    """``command`` run so that it gets SIGTERM when the Ray worker that started it dies
    (util-linux's ``setpriv --pdeathsig``, on Linux), so a stopped or lost trial never leaves a
    training behind; as it is where there is no setpriv."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--", *command] if setpriv else command


def run_trial(config: dict[str, Any], job: TrialJob) -> None:
    """Ray Tune's function trainable: one attempt of one trial."""
    from ray import tune  # noqa: PLC0415 (the sweep extra; imported on the worker)

    trial_id = tune.get_context().get_trial_id()
    client = MlflowClient(job.tracking_uri)
    attempt = 1 + len(
        client.search_runs(
            [job.experiment_id],
            f"tags.`{PARENT_TAG}` = '{job.parent_run_id}' and tags.`{TRIAL_TAG}` = '{trial_id}'",
        )
    )
    run_name = f"trial-{trial_id}" + (f"-attempt{attempt}" if attempt > 1 else "")
    run = client.create_run(
        job.experiment_id,
        run_name=run_name,
        tags={
            PARENT_TAG: job.parent_run_id,
            TRIAL_TAG: trial_id,
            ATTEMPT_TAG: str(attempt),
            SWEEP_TAG: job.sweep,
            "mlflow.source.type": "JOB",
        },  # fmt: skip
    )
    run_id = run.info.run_id
    folder = trial_folder(job.sweep, trial_id)
    log_path = Path(job.project) / folder / f"kedro-run-{attempt}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "kedro", "run", "--env", job.env, "--pipelines", job.pipeline,
               "--params", params_argument({**job.fixed, **config, "output_root": folder})]  # fmt: skip
    env = {**os.environ, **thread_env(job.cpus), **job.extra_env, "MLFLOW_RUN_ID": run_id,
           "MLFLOW_TRACKING_URI": job.tracking_uri}  # fmt: skip
    env.pop("MLFLOW_EXPERIMENT_ID", None)
    env.pop("MLFLOW_EXPERIMENT_NAME", None)
    logger.info("Trial %s attempt %d: MLflow run %s, log %s", trial_id, attempt, run_id, log_path)
    with log_path.open("w") as log:
        process = subprocess.Popen(die_with_parent(command), cwd=job.project, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            _follow(process, client, run_id, run_name, job, tune)
        finally:
            if process.poll() is None:  # stopped by the scheduler or the driver: stop it too
                process.terminate()
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                _close(client, run_id, RunStatus.KILLED)
    with contextlib.suppress(Exception):  # conveniences, never the trial's fault
        client.log_artifact(run_id, str(log_path), "sweep")
        _keep_name(client, run_id, run_name, even_unopened=True)
    code = process.returncode
    if code < 0:
        _close(client, run_id, RunStatus.KILLED)
        raise TrialProcessDied(
            f"Trial {trial_id}'s kedro run was killed by {signal.Signals(-code).name} "
            f"(MLflow run {run_id} marked KILLED; log: {log_path}). Ray retries it."
        )
    if code != 0:
        _close(client, run_id, RunStatus.FAILED)
        tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or [""]
        logger.warning("Trial %s failed (exit %d): %s", trial_id, code, tail[0][:300])
        tune.report({job.metric: math.nan, "trial_status": "FAILED"})
        return
    final = client.get_run(run_id).data.metrics.get(job.metric)
    tune.report({job.metric: math.nan if final is None else final, "trial_status": "FINISHED"})


def _follow(process, client: MlflowClient, run_id: str, run_name: str, job: TrialJob,
            tune) -> None:  # fmt: skip
    """Until the process ends: each new epoch's ``epoch_metric`` as one report to Tune."""
    reported, named = 0, False
    while True:
        done = process.poll() is not None or _wait(process, job.poll_seconds)
        named = named or _keep_name(client, run_id, run_name)
        if job.epoch_metric:
            history = sorted(
                client.get_metric_history(run_id, job.epoch_metric), key=lambda m: m.step
            )
            for point in history[reported:]:
                tune.report({job.metric: point.value, "epoch": point.step,
                             "trial_status": "RUNNING"})  # fmt: skip
            reported = max(reported, len(history))
        if done:
            return


def _keep_name(client: MlflowClient, run_id: str, run_name: str,
               even_unopened: bool = False) -> bool:  # fmt: skip
    """Give the run back the trial's name once kedro-mlflow has opened it (logged its params)
    under its pipeline's name (mlflow.yml's `run.name` is null; hooks/run_tags.py leaves a run
    it did not open as it is); True once that is done. ``even_unopened``: after the process
    ended (it may have failed before kedro-mlflow logged anything)."""
    with contextlib.suppress(Exception):
        run = client.get_run(run_id)
        if not run.data.params and not even_unopened:
            return False  # kedro-mlflow has not opened it yet
        if run.info.run_name != run_name:
            client.update_run(run_id, name=run_name)
        return True
    return False


def _wait(process, seconds: float) -> bool:
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def _close(client: MlflowClient, run_id: str, status: int) -> None:
    """End the run with ``status`` unless the trial's process already ended it."""
    with contextlib.suppress(Exception):
        if client.get_run(run_id).info.status == "RUNNING":
            client.set_terminated(run_id, RunStatus.to_string(status))
