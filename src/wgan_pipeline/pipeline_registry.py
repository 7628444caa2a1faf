"""Project pipelines."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from .pipelines import classifier, data_processing, evaluation, release, reporting, training


def register_pipelines() -> dict[str, Pipeline]:
    """data_processing -> training -> evaluation (numbers) -> reporting (pictures) and release
    (MLflow models, the registry), judged by the classifier pipeline's model. ``evaluation``
    judges the saved generator again with its pictures and release; ``reporting`` and
    ``release`` also run alone, from the files a run saved. ``__default__`` runs them all;
    ``gan`` all but the classifier (the saved one).

    Listed explicitly rather than found with ``find_pipelines``: Kedro's CLI makes that load only
    the pipeline named by ``--pipelines``, which cannot build the combined ones.
    """
    pipelines = {
        "data_processing": data_processing.create_pipeline(),
        "classifier": classifier.create_pipeline(),
        "training": training.create_pipeline(),
        "reporting": reporting.create_pipeline(),
        "release": release.create_pipeline(),
    }
    pipelines["evaluation"] = (
        evaluation.create_pipeline() + pipelines["reporting"] + pipelines["release"]
    )
    pipelines["gan"] = (
        pipelines["data_processing"] + pipelines["training"] + pipelines["evaluation"]
    )
    pipelines["__default__"] = pipelines["gan"] + pipelines["classifier"]
    return pipelines
