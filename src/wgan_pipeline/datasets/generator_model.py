"""The generator logged to MLflow as a model, with its signature and an input example."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from kedro_mlflow.io.models import MlflowModelTrackingDataset
from mlflow.models import infer_signature


class GeneratorModelTrackingDataset(MlflowModelTrackingDataset):
    """kedro-mlflow's model dataset for a Keras generator (noise -> images): adds the model's
    signature (float32 noise (-1, latent_dim) -> float32 images (-1, 28, 28, 1)) and an
    input example, so the MLflow UI shows what the model takes and gives and
    ``mlflow models serve`` can check requests. The example is two zero noise vectors: the
    centre of both noise distributions the project trains with (uniform and normal).
    """

    def _save(self, model: Any) -> None:
        example = np.zeros((2, model.input_shape[-1]), np.float32)
        images = np.asarray(model(example, training=False), dtype=np.float32)
        save_args = self._save_args
        self._save_args = {
            **save_args,
            "signature": infer_signature(example, images),
            "input_example": example,
        }
        interactive = keras.config.is_interactive_logging_enabled()
        keras.config.disable_interactive_logging()  # MLflow's predict on the example: no bar
        try:
            super()._save(model)
        finally:
            self._save_args = save_args
            if interactive:
                keras.config.enable_interactive_logging()
