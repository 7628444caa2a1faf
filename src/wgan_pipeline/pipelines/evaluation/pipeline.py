from kedro.pipeline import Node, Pipeline

from .nodes import export_generator, generate_samples, make_sample_grid


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                generate_samples,
                inputs=["generator", "params:evaluation", "params:training.noise"],
                outputs="generated_samples",
                name="generate_samples",
            ),
            Node(
                make_sample_grid,
                inputs=["generated_samples", "params:evaluation"],
                outputs="sample_grid",
                name="make_sample_grid",
            ),
            Node(
                export_generator,
                inputs="generator",
                outputs="generator_mlflow_model",
                name="log_generator_to_mlflow",
            ),
        ]
    )
