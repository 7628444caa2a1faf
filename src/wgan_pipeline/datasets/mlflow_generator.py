"""A generator logged to MLflow as a servable model, registered and crowned when it is the best.

Saved: ``{"model": <keras generator>, "tags": {...}}`` from the evaluation pipeline (and, for the
registered one, ``"crown"`` and ``"reason"``: the champion's verdict). The generator is logged in
the active run as a pyfunc model (registry/digits_model.py: noise float32 (n, latent_dim) ->
uint8 (n, 28, 28), the signature saying so), tagged; with ``registered_model_name`` it becomes a
new version of that registered model with the same tags, and the alias moves to it when
``crown`` is true.

Loaded (registered only): the alias' version, ``{"version", "tags", "generator"}``, or None when
the registered model has no such alias yet (the first run), or its version cannot be loaded (it
was deleted, its files are gone): no comparable champion, said in the log.
"""

from __future__ import annotations

import logging
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

import keras
import mlflow
import numpy as np
from kedro.io import AbstractDataset, DatasetError
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.types import Schema, TensorSpec

logger = logging.getLogger(__name__)

BACKEND_PACKAGES = {"tensorflow": ["tensorflow"], "jax": ["jax", "jaxlib"], "torch": ["torch"]}


def pinned_requirements() -> list[str]:
    """What the model needs where it is served, pinned to what runs here (and MLflow spends no
    seconds inferring them): Keras, its backend, NumPy and MLflow."""
    names = ["keras", *BACKEND_PACKAGES.get(keras.backend.backend(), []), "numpy", "mlflow"]
    return [f"{name}=={version(name)}" for name in names]


MODEL_CODE = Path(__file__).parents[1] / "registry" / "digits_model.py"


def load_pyfunc(uri: str) -> mlflow.pyfunc.PyFuncModel:
    """The MLflow model at ``uri`` (``models:/...``), read through a temporary folder that is
    gone when this returns. ``mlflow.pyfunc.load_model`` alone downloads a model kept by a
    tracking server into a new temporary folder at each load and never deletes it: 27 MB a load
    for the chapter's generator."""
    with tempfile.TemporaryDirectory(prefix="wgan-model-") as tmp:
        return mlflow.pyfunc.load_model(uri, dst_path=tmp)


class MlflowGeneratorDataset(AbstractDataset[dict, dict]):
    def __init__(
        self,
        name: str = "generator",
        registered_model_name: str | None = None,
        alias: str = "champion",
        pip_requirements: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
    ):
        self.name = name
        self.registered_model_name = registered_model_name
        self.alias = alias
        self.pip_requirements = pip_requirements or pinned_requirements()
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"name": self.name, "registered_model_name": self.registered_model_name}

    def save(self, data: dict) -> None:
        generator, tags = data["model"], {k: str(v) for k, v in data["tags"].items()}
        if mlflow.active_run() is None:
            raise DatasetError(
                f"No MLflow run is active to log '{self.name}' in: run it with `kedro run` "
                "(kedro-mlflow opens one), not with tracking disabled for this pipeline."
            )
        latent_dim = int(generator.input_shape[-1])
        height, width = generator.output_shape[1:3]
        signature = ModelSignature(
            inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, latent_dim))]),
            outputs=Schema([TensorSpec(np.dtype(np.uint8), (-1, height, width))]),
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "generator.keras"
            generator.save(path)
            interactive = keras.config.is_interactive_logging_enabled()
            keras.config.disable_interactive_logging()  # MLflow checks the example: no bar
            try:
                info = mlflow.pyfunc.log_model(
                    name=self.name,
                    python_model=str(MODEL_CODE),
                    artifacts={"generator": str(path)},
                    signature=signature,
                    input_example=np.zeros((2, latent_dim), np.float32),
                    pip_requirements=self.pip_requirements,
                    registered_model_name=self.registered_model_name,
                    tags=tags,
                    model_config={"noise": tags.get("noise", "normal")},  # its bound when served
                )
            finally:
                if interactive:
                    keras.config.enable_interactive_logging()
        if self.registered_model_name is None:
            return
        client = mlflow.MlflowClient()
        version = str(info.registered_model_version)
        for key, value in tags.items():
            client.set_model_version_tag(self.registered_model_name, version, key, value)
        reason = data["reason"]
        if data["crown"]:
            client.set_registered_model_alias(self.registered_model_name, self.alias, version)
        logger.info("%s version %s: %s", self.registered_model_name, version, reason)
        mlflow.set_tags({"registered_version": version, self.alias: reason})

    def load(self) -> dict | None:
        if self.registered_model_name is None:
            raise DatasetError(f"'{self.name}' is logged only: give registered_model_name to load.")
        name, alias = self.registered_model_name, self.alias
        client = mlflow.MlflowClient()
        try:
            version = client.get_model_version_by_alias(name, alias)
        except MlflowException as exc:
            # No registered model or alias yet: RESOURCE_DOES_NOT_EXIST; an alias whose
            # version was deleted: INVALID_PARAMETER_VALUE ("alias ... not found").
            if exc.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                raise
            return None if "RESOURCE" in exc.error_code else _dangling(name, alias, None, exc)
        try:
            uri = f"models:/{name}/{version.version}"  # the version read, even if the alias moves
            model = load_pyfunc(uri).unwrap_python_model()
        except Exception as exc:  # noqa: BLE001 (files gone or corrupt: MLflow, OS, Keras errors)
            return _dangling(name, alias, version.version, exc)
        return {"version": str(version.version), "tags": dict(version.tags),
                "generator": model.generator}  # fmt: skip


def _dangling(name: str, alias: str, version: str | None, exc: Exception) -> None:
    """A registry left half-done (the alias' version deleted, its files gone, a kill between
    registering and aliasing) is no champion to compare with: said in the log, and this run's
    generator takes the alias, which mends the registry."""
    which = f"version {version}" if version else "a version that no longer exists"
    logger.warning(
        "%s's %s, %s, cannot be loaded (%s: %s): treated as no comparable champion. This run's "
        "generator becomes the %s.",
        name, alias, which, type(exc).__name__, str(exc)[:300], alias,
    )  # fmt: skip
