"""What the scripts read of the project: its configuration, through Kedro's config loader with the
project's settings (as `kedro run --env ENV` reads it), and its MLflow runs, in the store and
experiment mlflow.yml names. Imported by the scripts beside it (``from project import ...``)."""

from __future__ import annotations

from pathlib import Path

import mlflow
from kedro.config import OmegaConfigLoader

from wgan_pipeline.params import EvaluationParams
from wgan_pipeline.settings import CONFIG_LOADER_ARGS

ROOT = Path(__file__).resolve().parents[1]


def config(env: str | None = None) -> OmegaConfigLoader:
    """The project's configuration for ``env`` (conf/base, then conf/ENV, key by key)."""
    resolvers = {**CONFIG_LOADER_ARGS["custom_resolvers"], "project_root": lambda: str(ROOT)}
    arguments = {**CONFIG_LOADER_ARGS, "custom_resolvers": resolvers}
    return OmegaConfigLoader(str(ROOT / "conf"), env=env, **arguments)


def evaluation_params(env: str | None = None) -> EvaluationParams:
    """``params:evaluation``: the judge's sample count, seed, k of the k-NN metrics, splits."""
    return EvaluationParams(**config(env)["parameters"]["evaluation"])


def tracking(env: str | None = None) -> tuple[mlflow.MlflowClient, str]:
    """A client of the project's MLflow store and the id of its experiment; sets both as
    MLflow's current ones, so that a run the script starts goes there too."""
    settings = config(env)["mlflow"]
    uri, name = (
        settings["server"]["mlflow_tracking_uri"],
        settings["tracking"]["experiment"]["name"],
    )
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is None:
        raise SystemExit(f"No MLflow experiment '{name}' in {uri}: run `kedro run` first.")
    mlflow.set_experiment(experiment_id=experiment.experiment_id)
    return mlflow.MlflowClient(uri), experiment.experiment_id


def finished_runs(where: str = "", env: str | None = None) -> list[mlflow.entities.Run]:
    """The experiment's FINISHED runs matching the MLflow filter ``where``, newest first."""
    client, experiment = tracking(env)
    query = " and ".join(["attributes.status = 'FINISHED'", *([where] if where else [])])
    return client.search_runs([experiment], query, order_by=["attributes.start_time DESC"])


def logged_models(run: mlflow.entities.Run) -> list:
    """The models ``run`` logged (the release pipeline's ``generator`` and ``generator_last``)."""
    return mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run.info.run_id}'",
        output_format="list",
    )
