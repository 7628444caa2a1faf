from kedro.pipeline import Node, Pipeline

from .nodes import (
    interpolate_latent,
    make_progress_strip,
    make_sample_grid,
    plot_class_histogram,
    plot_judge_curve,
    plot_losses,
    plot_wasserstein_curve,
)

EVALUATION = "params:evaluation"


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(make_sample_grid, ["generated_samples", EVALUATION], "sample_grid",
                 name="make_sample_grid"),
            Node(plot_class_histogram, ["evaluation_metrics", "params:data"], "class_histogram",
                 name="plot_class_histogram"),
            Node(plot_wasserstein_curve, ["training_steps", EVALUATION], "wasserstein_curve",
                 name="plot_wasserstein_curve"),
            Node(plot_losses, "training_history", "loss_curves", name="plot_losses"),
            Node(interpolate_latent, ["generator", EVALUATION, "params:training.noise"],
                 "latent_interpolation", name="interpolate_latent"),
            Node(make_progress_strip, ["epoch_samples", EVALUATION], "training_progress",
                 name="make_progress_strip"),
            Node(plot_judge_curve, ["judge_history", "training_history"], "judge_curve",
                 name="plot_judge_curve"),
        ],
        # Each picture from files training and the evaluation saved: `kedro run --pipelines
        # reporting` redraws them all. Dataset names stay as the catalog has them.
        namespace="reporting",
        prefix_datasets_with_namespace=False,
    )  # fmt: skip
