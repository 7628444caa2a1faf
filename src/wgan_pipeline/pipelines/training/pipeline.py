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
                    "classifier",  # the judge of the evaluation, also judging while it trains
                    "raw_images",
                    "params:evaluation",
                ],
                outputs=[
                    "generator",
                    "generator_last",
                    "critic",
                    "training_history",
                    "training_steps",
                    "epoch_samples",
                    "judge_history",
                    "training_record",  # last: saved once the generators are
                ],
                name="train_wgan",
            ),
        ],
        # Grouped under "training" in kedro-viz and selectable with --namespaces; dataset names
        # stay as the catalog has them.
        namespace="training",
        prefix_datasets_with_namespace=False,
    )
