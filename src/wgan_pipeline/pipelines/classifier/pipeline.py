from kedro.pipeline import Node, Pipeline

from .nodes import train_classifier


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                train_classifier,
                inputs=["raw_images", "params:classifier", "params:data", "saved_judge"],
                outputs=["classifier", "judge_card"],
                name="train_classifier",
            ),
        ],
        # Grouped under "classifier" in kedro-viz and selectable with --namespaces; dataset names
        # stay as the catalog has them.
        namespace="classifier",
        prefix_datasets_with_namespace=False,
    )
