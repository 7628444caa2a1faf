from kedro.pipeline import Node, Pipeline

from .nodes import train_wgan


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                train_wgan,
                inputs=[
                    "training_images",
                    "params:training",
                    "training_checkpoints",
                    "params:data",
                ],
                outputs=[
                    "generator",
                    "critic",
                    "training_history",
                    "training_steps",
                    "epoch_samples",
                ],
                name="train_wgan",
            ),
        ],
        # Grouped under "training" in kedro-viz and selectable with --namespaces; dataset names
        # stay as the catalog has them.
        namespace="training",
        prefix_datasets_with_namespace=False,
    )
