from kedro.pipeline import Node, Pipeline

from .nodes import describe_kept, describe_last, judge_champion, release_kept, release_last


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                describe_kept,
                inputs=[
                    "evaluation_metrics",
                    "training_record",
                    "generator",
                    "classifier",
                    "params:evaluation",
                    "params:training",  # only for the command a refusal names
                ],
                outputs="kept_tags",
                name="describe_kept",
            ),
            Node(
                judge_champion,
                inputs=[
                    "champion",
                    "kept_tags",
                    "classifier",
                    "raw_images",
                    "params:evaluation",
                    "params:data",
                ],
                outputs="champion_judged",
                name="judge_champion",
            ),
            Node(
                release_kept,
                inputs=["generator", "kept_tags", "champion_judged"],
                outputs="generator_release",
                name="release_kept",
            ),
            Node(
                describe_last,
                inputs=["training_record", "generator_last"],
                outputs="last_tags",
                name="describe_last",
            ),
            Node(
                release_last,
                inputs=["generator_last", "last_tags"],
                outputs="generator_last_release",
                name="release_last",
            ),
        ],
        namespace="release",
        prefix_datasets_with_namespace=False,
    )
