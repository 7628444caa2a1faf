"""A generator as an MLflow model: noise vectors in, digits out (uint8 pixels, (n, 28, 28)).

MLflow logs this file itself ("models from code") beside the generator's ``.keras`` file and runs
it wherever the model is loaded or served (``mlflow.pyfunc.load_model``, ``mlflow models
serve``), so it needs Keras, NumPy and MLflow only, not this project. A request MLflow's schema
check lets through but that cannot be answered (too many images, values that are not finite or
outside the noise the generator was trained on: [-1, 1] for uniform noise, [-6, 6] for normal
noise, its model_config's ``noise``) is refused with an ``INVALID_PARAMETER_VALUE`` error, which
the scoring server answers with a 400 and the message.

What MLflow does before this code sees a request: it reads the whole body (its scoring server,
uvicorn with MLflow's FastAPI app, has no setting to cap a request's size; put a proxy with a
body limit in front of it, e.g. nginx's ``client_max_body_size``) and casts the JSON to the
signature's float32 (so a string such as "0.5" arrives here as 0.5, and a number past float32's
range as infinity, refused).
"""

from __future__ import annotations

import keras
import mlflow
import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

MAX_IMAGES = 1000  # images per request: 1,000 digits are 0.8 MB of pixels and ~1 s on a CPU
BATCH = 500
# The noise a generator may be given: what it was trained on (uniform), or six standard
# deviations (normal: a value beyond comes once in 500 million). A model logged without its
# noise in model_config gets the wider bound.
NOISE_BOUND = {"uniform": 1.0, "normal": 6.0}


def _refuse(message: str) -> MlflowException:
    return MlflowException(message, error_code=INVALID_PARAMETER_VALUE)


class GeneratorDigits(mlflow.pyfunc.PythonModel):
    """The ``generator`` artifact (a plain Keras file) drawing one image per noise vector."""

    def load_context(self, context) -> None:
        self.generator = keras.saving.load_model(context.artifacts["generator"], compile=False)
        self.latent_dim = int(self.generator.input_shape[-1])
        self.noise = (context.model_config or {}).get("noise", "normal")
        self.bound = NOISE_BOUND.get(self.noise, NOISE_BOUND["normal"])

    def predict(self, context, model_input: np.ndarray, params=None) -> np.ndarray:
        noise = np.asarray(model_input)
        if noise.ndim != 2 or noise.shape[1] != self.latent_dim:
            raise _refuse(
                f"Expected a batch of noise vectors of shape (n, {self.latent_dim}), got "
                f"{noise.shape}: send one row of {self.latent_dim} numbers per image."
            )
        if not np.issubdtype(noise.dtype, np.number):
            raise _refuse(f"Expected numbers, got {noise.dtype}: send float32 noise.")
        if len(noise) > MAX_IMAGES:
            raise _refuse(
                f"{len(noise)} images asked for, at most {MAX_IMAGES} per request: split the batch."
            )
        noise = noise.astype(np.float32)
        if not np.isfinite(noise).all():
            raise _refuse("The noise holds NaN or infinite values: send finite numbers.")
        if noise.size and np.abs(noise).max() > self.bound:
            raise _refuse(
                f"The noise holds values from {noise.min():.3g} to {noise.max():.3g}: send values "
                f"within [-{self.bound}, {self.bound}] ({self.noise} noise, as the generator was "
                "trained on)."
            )
        images = [
            keras.ops.convert_to_numpy(self.generator(noise[i : i + BATCH], training=False))
            for i in range(0, len(noise), BATCH)
        ]
        images = np.concatenate(images) if images else np.zeros((0, 28, 28, 1), np.float32)
        pixels = np.clip(np.rint(images * 127.5 + 127.5), 0, 255)  # as the project's samples
        return pixels.astype(np.uint8).reshape(len(noise), *images.shape[1:3])


mlflow.models.set_model(GeneratorDigits())
