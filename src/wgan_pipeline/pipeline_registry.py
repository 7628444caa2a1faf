"""Project pipelines."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from wgan_pipeline.pipelines import classifier, data_processing, evaluation, release, training


def register_pipelines() -> dict[str, Pipeline]:
    """data_processing -> training -> evaluation (with the release: the generators to MLflow, the
    kept one registered), judged by the classifier pipeline's model; each
    runnable alone with ``--pipeline``. ``__default__`` runs them all; ``gan`` all but the
    classifier, reusing the one saved in data/06_models.

    Listed explicitly rather than found with ``find_pipelines``: Kedro's CLI makes that load only
    the pipeline named by ``--pipeline``, which cannot build the combined ones.
    """
    pipelines = {
        "data_processing": data_processing.create_pipeline(),
        "classifier": classifier.create_pipeline(),
        "training": training.create_pipeline(),
        "evaluation": evaluation.create_pipeline() + release.create_pipeline(),
    }
    pipelines["gan"] = (
        pipelines["data_processing"] + pipelines["training"] + pipelines["evaluation"]
    )
    pipelines["__default__"] = pipelines["gan"] + pipelines["classifier"]
    return pipelines
