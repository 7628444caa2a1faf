from kedro.pipeline import Node, Pipeline

from .nodes import prepare_training_images


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                prepare_training_images,
                inputs=["raw_images", "params:data"],
                outputs="training_images",
                name="scale_training_images",
            ),
        ],
        # Grouped under "data_processing" in kedro-viz and selectable with --namespaces; dataset names
        # stay as the catalog has them.
        namespace="data_processing",
        prefix_datasets_with_namespace=False,
    )
