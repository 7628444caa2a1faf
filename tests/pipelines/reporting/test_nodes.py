import numpy as np
import pandas as pd

from wgan_pipeline.params import DataParams, EvaluationParams
from wgan_pipeline.pipelines.reporting.nodes import make_sample_grid, plot_class_histogram

from ...helpers import base_params

FASHION = DataParams(dataset="fashion_mnist", max_train_images=None)


def evaluation(**overrides) -> EvaluationParams:
    return EvaluationParams(**base_params("evaluation", **overrides))


def test_grid_image_lays_out_rows_by_rows_samples_magnified():
    samples = np.full((30, 28, 28), 255, np.uint8)
    image = make_sample_grid(samples, evaluation(grid_rows=5, grid_scale=2))
    side = (5 * (28 + 2) + 2) * 2
    assert image.mode == "L" and image.size == (side, side)
    pixels = np.asarray(image)
    assert pixels[0, 0] == 0 and pixels[4, 4] == 255  # padding, then a white digit


def test_the_class_histogram_names_the_classes():
    metrics = {"set": ["generated"], **{f"share_{i}": [0.1] for i in range(10)}}
    figure = plot_class_histogram(pd.DataFrame(metrics), FASHION)
    labels = [label.get_text() for label in figure.axes[0].get_xticklabels()]
    assert labels[0] == "T-shirt/top" and labels[9] == "Ankle boot"
