"""The project's own Kedro commands (Kedro adds them to ``kedro``): ``kedro sweep``, and
``kedro run`` as Kedro's own but for one thing: a refusal (errors.Refused) prints its message
alone, without a traceback, and exits with 1.

Kedro's packaged-project route (``python -m wgan_pipeline``, an installed wheel) takes ``run``
from this module too."""

from __future__ import annotations

import copy
import functools
import os
import socket
from pathlib import Path

import click
from kedro.config import MissingConfigException
from kedro.framework.cli.project import run as kedro_run
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from wgan_pipeline.errors import Refused
from wgan_pipeline.gan.errors import TrainingDivergedError
from wgan_pipeline.hooks.system_metrics import sampling_interval
from wgan_pipeline.sweep.spec import SweepSpecError, check_against_params, parse_spec


class SweepCommandError(click.ClickException):
    """A sweep that cannot start: click prints ``Error: <message>`` and exits with 1."""


@click.group(name="wgan-pipeline")
def cli() -> None:
    """The project's commands."""


class RefusedRun(click.ClickException):
    """``Error: <message>`` on stderr, exit code 1 (click's own handling)."""


def refusal(exc: BaseException) -> BaseException | None:
    """The refusal an error is or was raised from (Kedro re-raises some wrapped), or None."""
    while exc is not None:
        if isinstance(exc, Refused | TrainingDivergedError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _refusals_without_traceback(command):
    @functools.wraps(command)
    def run_command(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except Exception as exc:
            refused = refusal(exc)
            if refused is None:
                raise
            raise RefusedRun(str(refused)) from None

    return run_command


# `kedro run`: Kedro's command (its options, help and behaviour), refusals printed plainly.
run = copy.copy(kedro_run)
run.callback = _refusals_without_traceback(kedro_run.callback)
cli.add_command(run)


@cli.command()
@click.option("--env", "-e", default=None, help="The Kedro env of the sweep and its trials "
              "(its mlflow.yml says where they are tracked; conf/cluster: an MLflow server).")  # fmt: skip
@click.option("--address", default=None, help="A running Ray cluster to join (host:port of "
              "`ray start --head`; default RAY_ADDRESS, else a local cluster on this machine).")  # fmt: skip
@click.option("--num-trials", type=int, default=None, help="Overrides sweep.num_trials.")
@click.option("--max-concurrent", type=int, default=None, help="Overrides sweep.max_concurrent.")
def sweep(env, address, num_trials, max_concurrent) -> None:
    """Tune training.* keys with Optuna's TPE on Ray Tune: the spec is conf/<env>/sweep.yml
    (else conf/base's). Each trial is a `kedro run` of the spec's pipeline, an MLflow child run
    of the sweep's parent run."""
    project = Path.cwd()
    bootstrap_project(project)
    with KedroSession.create(project_path=project, env=env) as session:
        context = session.load_context()  # checks the env, the params and the tracking server
        parameters = context.config_loader["parameters"]  # raw: context.params imports Keras
        try:
            raw = context.config_loader["sweep"].get("sweep")
        except MissingConfigException:
            raw = None
        overrides = {"num_trials": num_trials, "max_concurrent": max_concurrent}
        if isinstance(raw, dict):
            raw = {**raw, **{k: v for k, v in overrides.items() if v is not None}}
        try:
            spec = parse_spec(raw)
            check_against_params(spec, parameters)
        except SweepSpecError as exc:
            raise SweepCommandError(str(exc)) from None
        address = address or os.environ.get("RAY_ADDRESS")
        check_reachable(address)
        if spec.pipeline not in pipelines:  # the first look at the pipelines: imports Keras
            raise SweepCommandError(
                f"sweep.pipeline '{spec.pipeline}' is not a pipeline of this project: they are "
                f"{sorted(pipelines)}. Nothing was run."
            )
        if "classifier" in pipelines[spec.pipeline].inputs() and not context.catalog.exists(
            "classifier"
        ):
            raise SweepCommandError(
                f"sweep.pipeline '{spec.pipeline}' judges every epoch with the saved classifier, "
                f"and there is none for this env: train it once with `kedro run --env "
                f"{context.env or 'local'} --pipelines classifier`. Nothing was run."
            )
        try:
            import optuna  # noqa: F401, PLC0415
            import ray  # noqa: F401, PLC0415

            from wgan_pipeline.sweep.driver import run_sweep  # noqa: PLC0415 (needs Ray)
        except ImportError as exc:
            raise SweepCommandError(
                f"kedro sweep needs Ray Tune and Optuna ({exc.name} is missing): "
                'pip install -e ".[sweep]". Nothing was run.'
            ) from None
        training = parameters.get("training") or {}
        epochs = spec.params.get("training.epochs") or training.get("epochs", 1)
        best = run_sweep(
            spec,
            project=project,
            env=context.env or "local",
            address=address,
            epochs=int(epochs),
            experiment=context.mlflow.tracking.experiment.name,
            sampling_interval=sampling_interval(context.config_loader),
        )
    if best is None:
        raise SweepCommandError(
            "No trial finished: the sweep's parent run in MLflow has trials.csv, and each "
            "trial's log is data/sweeps/<sweep>/<trial>/kedro-run-<attempt>.log."
        )
    click.echo(f"Best trial {best['trial']}: {spec.metric} = {best[spec.metric]:.4g} "
               f"(MLflow run {best['run_id']})")  # fmt: skip


def check_reachable(address: str | None) -> None:
    """A ``host:port`` (or ``ray://host:port``) Ray address that nothing answers on is refused
    at once: ``ray.init`` would retry it for minutes. "auto", "local" and None are Ray's."""
    if address in (None, "auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise SweepCommandError(
            f"--address {address!r} is not host:port (the address `ray start --head` prints, "
            "e.g. 10.0.0.5:6379). Nothing was run."
        )
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except OSError as exc:
        raise SweepCommandError(
            f"No Ray cluster answers at {address} ({exc.strerror or exc}): start one there with "
            "`ray start --head --port <port>`, or leave --address and RAY_ADDRESS unset for a "
            "cluster on this machine. Nothing was run."
        ) from None
