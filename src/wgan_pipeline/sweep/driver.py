"""``kedro sweep``: Optuna's TPE proposes, Ray Tune runs the trials (on this machine or a
cluster), MLflow holds one parent run with a child run per trial attempt.

The parent run logs the spec (``sweep.yml``), the trials' table (``trials.csv``), the best
trial's params and metric (``best.*``) and a picture of the metric against each swept key
(``sweep.png``). The table comes from MLflow itself, so it holds retries and failures too.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import yaml
from mlflow import MlflowClient
from mlflow.entities import RunStatus

from wgan_pipeline.hooks.system_metrics import system_metrics
from wgan_pipeline.lifecycle import mark_killed, on_signals

from .spec import SweepSpec
from .trial import PARENT_TAG, TRIAL_TAG, TrialJob, run_trial

logger = logging.getLogger(__name__)


def search_space(spec: SweepSpec) -> dict[str, Any]:
    """The spec's distributions as Ray Tune's (which OptunaSearch turns into Optuna's)."""
    from ray import tune  # noqa: PLC0415 (the sweep extra)

    make = {
        "uniform": lambda d: tune.uniform(d.low, d.high),
        "loguniform": lambda d: tune.loguniform(d.low, d.high),
        "int": lambda d: tune.randint(int(d.low), int(d.high) + 1),  # high included
        "choice": lambda d: tune.choice(list(d.values)),
    }
    return {key: make[d.distribution](d) for key, d in spec.search_space.items()}


def sweep_folder_name(name: str) -> str:
    """The sweep's folder under data/sweeps/: its name and start time, safe as a path."""
    return f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}-{time.strftime('%Y%m%d-%H%M%S')}"


def run_sweep(spec: SweepSpec, *, project: Path, env: str, address: str | None, epochs: int,
              experiment: str, sampling_interval: float | None = None) -> dict[str, Any] | None:  # fmt: skip
    """Run the sweep under the active MLflow tracking set-up (kedro-mlflow's, for ``env``);
    returns the best trial's row. The parent run ends FINISHED, or KILLED on Ctrl-C; it gets
    system metrics every ``sampling_interval`` seconds (none when None)."""
    import ray  # noqa: PLC0415 (the sweep extra)
    from ray import tune  # noqa: PLC0415
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler  # noqa: PLC0415
    from ray.tune.search import ConcurrencyLimiter  # noqa: PLC0415
    from ray.tune.search.optuna import OptunaSearch  # noqa: PLC0415

    tracking_uri = mlflow.get_tracking_uri()
    experiment_id = mlflow.get_experiment_by_name(experiment).experiment_id
    folder = sweep_folder_name(spec.name)
    parent = mlflow.start_run(experiment_id=experiment_id, run_name=spec.name,
                              tags={"sweep.name": folder, "kedro_env": env})  # fmt: skip
    client = MlflowClient(tracking_uri)
    status = RunStatus.FAILED
    monitor = contextlib.ExitStack()
    try:
        monitor.enter_context(system_metrics(parent.info.run_id, sampling_interval))
        mlflow.log_text(yaml.safe_dump({"sweep": spec.model_dump()}, sort_keys=False), "sweep.yml")
        mlflow.log_params(_flat({"sweep": spec.model_dump(exclude={"search_space"})}))
        mlflow.log_params({f"space.{k}": _describe(d) for k, d in spec.search_space.items()})
        if address and not tracking_uri.startswith(("http://", "https://")):
            logger.warning(
                "Joining the Ray cluster at %s, but MLflow tracks to %s, a local store: trials "
                "on other nodes cannot write to it. Use an env whose mlflow.yml names an MLflow "
                "server (conf/cluster).", address, tracking_uri,
            )  # fmt: skip
        # "local": a new cluster of this process's own, never one a crashed `ray start` left
        # in /tmp/ray/ray_current_cluster (ray.init() would wait on it for ever)
        ray.init(address=address or "local", include_dashboard=False, log_to_driver=False,
                 configure_logging=False)  # fmt: skip
        job = TrialJob(
            project=str(project), env=env, pipeline=spec.pipeline, fixed=dict(spec.params),
            tracking_uri=tracking_uri, experiment_id=experiment_id,
            parent_run_id=parent.info.run_id, sweep=folder, metric=spec.metric,
            epoch_metric=spec.epoch_metric, cpus=spec.resources.cpus,
        )  # fmt: skip
        scheduler = (
            ASHAScheduler(
                max_t=epochs + 1,  # one report per epoch, then the final metric
                grace_period=spec.scheduler.grace_period,
                reduction_factor=spec.scheduler.reduction_factor,
            )
            if spec.scheduler.type == "asha" and spec.epoch_metric
            else FIFOScheduler()
        )
        searcher = ConcurrencyLimiter(OptunaSearch(seed=spec.seed),
                                      max_concurrent=spec.max_concurrent)  # fmt: skip
        trainable = tune.with_resources(
            tune.with_parameters(run_trial, job=job),
            {"cpu": spec.resources.cpus, "gpu": spec.resources.gpus},
        )
        tuner = tune.Tuner(
            trainable,
            param_space=search_space(spec),
            tune_config=tune.TuneConfig(
                metric=spec.metric, mode=spec.mode, search_alg=searcher, scheduler=scheduler,
                num_samples=spec.num_trials, max_concurrent_trials=spec.max_concurrent,
            ),
            run_config=tune.RunConfig(
                name=folder, storage_path=str(project / "data" / "sweeps" / "ray"),
                failure_config=tune.FailureConfig(max_failures=spec.max_failures), verbose=1,
            ),
        )  # fmt: skip
        started = time.perf_counter()
        with _tune_sigint_handler_off(), on_signals(KeyboardInterrupt):
            tuner.fit()
        seconds = time.perf_counter() - started
        _close_children(client, parent.info.run_id)  # any a lost worker left RUNNING
        table = trials_table(client, experiment_id, parent.info.run_id, spec)
        best = log_summary(table, spec, seconds)
        status = RunStatus.FINISHED
        return best
    except KeyboardInterrupt as stop:
        status = RunStatus.KILLED
        logger.warning("kedro sweep stopped by %s: the trials are stopped, the runs closed.",
                       stop.args[0] if stop.args else "SIGINT")  # fmt: skip
        raise
    finally:
        monitor.close()
        with contextlib.suppress(Exception):
            ray.shutdown()  # stops this driver's trials (Ray ends their kedro runs)
        _close_children(client, parent.info.run_id, wait=status == RunStatus.KILLED)
        mlflow.end_run(RunStatus.to_string(status))


@contextlib.contextmanager
def _tune_sigint_handler_off() -> Iterator[None]:
    """While Tune runs, SIGINT (Ctrl-C) and SIGTERM raise KeyboardInterrupt in the driver
    (``on_signals``). Tune's own SIGINT handler would only end the loop, and the sweep would go
    on as if it had finished; SIGTERM's default would leave the parent run RUNNING."""
    tune_handler = os.environ.get("TUNE_DISABLE_SIGINT_HANDLER")
    os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"
    try:
        yield
    finally:
        if tune_handler is None:
            os.environ.pop("TUNE_DISABLE_SIGINT_HANDLER", None)
        else:
            os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = tune_handler


def _describe(dist) -> str:
    if dist.distribution == "choice":
        return f"choice{list(dist.values)}"
    return f"{dist.distribution}[{dist.low:g}, {dist.high:g}]"


def _flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out |= _flat(value, f"{name}.")
        else:
            out[name] = value
    return out


def _close_children(client: MlflowClient, parent_id: str, wait: bool = False) -> None:
    """Child runs still RUNNING once the trials are over were left by a process that died
    without a word (a lost node): KILLED. After Ctrl-C the driver gives the trials 10 s to
    close their own runs: Ray kills the processes of a stopped trial's worker (SIGKILL), so
    most cannot, and they are closed here."""
    parent = client.get_run(parent_id)
    query = f"tags.`{PARENT_TAG}` = '{parent_id}' and attributes.status = 'RUNNING'"
    deadline = time.monotonic() + (10 if wait else 0)
    while True:
        running = client.search_runs([parent.info.experiment_id], query)
        if not running or time.monotonic() >= deadline:
            break
        time.sleep(2)
    for run in running:
        mark_killed(client, run.info.run_id, "(a trial) was left RUNNING", if_running=True)


def trials_table(client: MlflowClient, experiment_id: str, parent_id: str,
                 spec: SweepSpec) -> pd.DataFrame:  # fmt: skip
    """One row per trial attempt (child run): trial id, attempt, status, the swept params,
    the metric and the seconds it ran."""
    runs = client.search_runs([experiment_id], f"tags.`{PARENT_TAG}` = '{parent_id}'",
                              max_results=10000)  # fmt: skip
    rows = []
    for run in runs:
        row = {
            "trial": run.data.tags.get(TRIAL_TAG, ""),
            "attempt": int(run.data.tags.get("sweep.attempt", 1)),
            "run_id": run.info.run_id,
            "status": run.info.status,
        }
        for key in spec.search_space:
            row[key] = _number(run.data.params.get(key))
        row[spec.metric] = run.data.metrics.get(spec.metric, math.nan)
        if spec.epoch_metric:
            row[f"last {spec.epoch_metric}"] = run.data.metrics.get(spec.epoch_metric, math.nan)
        end = run.info.end_time or run.info.start_time
        row["seconds"] = round((end - run.info.start_time) / 1000, 1)
        rows.append(row)
    columns = ["trial", "attempt", "run_id", "status", *spec.search_space, spec.metric]
    table = pd.DataFrame(rows, columns=None if rows else columns)
    return table.sort_values(["trial", "attempt"]).reset_index(drop=True) if rows else table


def _number(text: str | None) -> Any:
    if text is None:
        return None
    for kind in (int, float):
        with contextlib.suppress(ValueError):
            return kind(text)
    return text


def best_row(table: pd.DataFrame, spec: SweepSpec) -> dict[str, Any] | None:
    """The FINISHED trial with the best metric, or None if none finished."""
    done = (
        table[(table["status"] == "FINISHED") & table[spec.metric].notna()] if len(table) else table
    )
    if not len(done):
        return None
    index = done[spec.metric].idxmin() if spec.mode == "min" else done[spec.metric].idxmax()
    return done.loc[index].to_dict()


def log_summary(table: pd.DataFrame, spec: SweepSpec, seconds: float) -> dict[str, Any] | None:
    """The parent run's trials.csv, best.* params and metric, counts and sweep.png."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trials.csv"
        table.to_csv(path, index=False)
        mlflow.log_artifact(str(path))
        if (figure := sweep_figure(table, spec)) is not None:
            mlflow.log_figure(figure, "sweep.png")
    counts = table["status"].value_counts().to_dict() if len(table) else {}
    mlflow.log_metrics({f"trials.{status.lower()}": n for status, n in counts.items()}
                       | {"sweep_seconds": seconds})  # fmt: skip
    best = best_row(table, spec)
    if best is not None:
        mlflow.log_params({f"best.{k}": best[k] for k in spec.search_space}
                          | {"best.trial": best["trial"], "best.run_id": best["run_id"]})  # fmt: skip
        mlflow.log_metric(f"best.{spec.metric}", float(best[spec.metric]))
    logger.info("Sweep done in %.0f s:\n%s", seconds, table.to_string(index=False))
    return best


def sweep_figure(table: pd.DataFrame, spec: SweepSpec):
    """The metric against each swept key, one panel each: finished trials as dots, the best
    ringed, others (failed, stopped early) as crosses at their last per-epoch value; None when
    no trial has a value to draw (every one failed before its first epoch)."""
    last = f"last {spec.epoch_metric}"
    values = [table[column] for column in (spec.metric, last) if column in table]
    if not any(column.notna().any() for column in values):
        return None
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt  # noqa: PLC0415
    from matplotlib.ticker import NullFormatter  # noqa: PLC0415

    keys = list(spec.search_space)
    columns = min(4, len(keys))  # rows of 4 panels
    rows = -(-len(keys) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3.4 * rows), squeeze=False)
    for ax in axes.flat[len(keys) :]:
        ax.set_visible(False)
    best = best_row(table, spec)
    finished = table["status"] == "FINISHED"
    for ax, key in zip(axes.flat, keys, strict=False):
        dist = spec.search_space[key]
        ax.scatter(table.loc[finished, key], table.loc[finished, spec.metric], label="finished")
        if last in table and (~finished).any():
            ax.scatter(table.loc[~finished, key], table.loc[~finished, last], marker="x",
                       color="grey", label="stopped or failed (last epoch)")  # fmt: skip
        if best is not None:
            ax.scatter([best[key]], [best[spec.metric]], s=160, facecolors="none",
                       edgecolors="red", label="best")  # fmt: skip
        if dist.distribution == "loguniform":
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())  # only the powers of ten
        ax.set_xlabel(key)
        ax.set_ylabel(spec.metric)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    figure.suptitle(f"{spec.name}: {len(table)} runs, {spec.mode} {spec.metric}")
    figure.tight_layout()
    return figure
