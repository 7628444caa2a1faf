from kedro.pipeline import Node, Pipeline

from .nodes import prepare_training_images


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                prepare_training_images,
                inputs=["mnist_raw", "params:data"],
                outputs="training_images",
                name="scale_training_images",
            ),
        ]
    )
