from kedro.pipeline import Node, Pipeline

from .nodes import train_mnist_classifier


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                train_mnist_classifier,
                inputs=["mnist_raw", "params:classifier"],
                outputs="mnist_classifier",
                name="train_mnist_classifier",
            ),
        ],
        # Grouped under "classifier" in kedro-viz and selectable with --namespaces; dataset names
        # stay as the catalog has them.
        namespace="classifier",
        prefix_datasets_with_namespace=False,
    )
