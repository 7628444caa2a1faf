from kedro.pipeline import Node, Pipeline

from .nodes import extract_features, generate_samples, metrics_for_mlflow, score_sets

EVALUATION, DATA = "params:evaluation", "params:data"


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(generate_samples, ["generator", EVALUATION, "params:training.noise", DATA],
                 "generated_samples", name="generate_samples"),
            Node(extract_features, ["classifier", "raw_images", "generated_samples", EVALUATION,
                                    DATA], "image_features", name="extract_features"),
            Node(score_sets, ["image_features", EVALUATION, "generator"], "evaluation_metrics",
                 name="score_sets"),
            Node(metrics_for_mlflow, "evaluation_metrics", "evaluation_mlflow_metrics",
                 name="metrics_for_mlflow"),
        ],
        # Grouped under "evaluation" in kedro-viz and selectable with --namespaces; dataset names
        # stay as the catalog has them.
        namespace="evaluation",
        prefix_datasets_with_namespace=False,
    )  # fmt: skip
