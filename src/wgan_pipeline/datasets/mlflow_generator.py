"""A generator logged to MLflow as a servable model, registered and crowned when it is the best.

Saved: ``{"model": <keras generator>, "tags": {...}}`` from the release pipeline (and, for the
registered one, ``"crown"`` and ``"reason"``: the champion's verdict). The tags must hold the
run's ``noise``, ``latent_dim`` and ``architecture`` (``GENERATOR_KEYS``; the release nodes take
them from ``params:training``), and ``latent_dim`` must be the generator's input size: a tag set
without them is refused, never filled in, since the noise is the model's config, the bound it is
served with. The generator is logged in the active run as a pyfunc model
(registry/digits_model.py: noise float32 (n, latent_dim) -> uint8 (n, 28, 28), the signature
saying so), tagged; with ``registered_model_name`` it becomes a new version of that registered
model with the same tags, and the alias moves to it when ``crown`` is true.

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
# What every logged generator's tags say of it, from the run's own params:training.
GENERATOR_KEYS = ("noise", "latent_dim", "architecture")


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
        self._check_identity(tags, latent_dim)
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
                    tags=tags,
                    model_config={"noise": tags["noise"]},  # its bound when served
                )
            finally:
                if interactive:
                    keras.config.enable_interactive_logging()
        if self.registered_model_name is None:
            return
        version = self._register(info, tags)
        client = mlflow.MlflowClient()
        reason = data["reason"]
        if data["crown"]:
            client.set_registered_model_alias(self.registered_model_name, self.alias, version)
        logger.info("%s version %s: %s", self.registered_model_name, version, reason)
        mlflow.set_tags({"registered_version": version, self.alias: reason})

    def _register(self, info, tags: dict[str, str]) -> str:
        """A new version of the registered model (created on the first run) from the logged
        model, with its tags: MLflow's own registration in ``log_model`` would print two lines
        of its own on the console ("Successfully registered model ...", "Created version ...")."""
        client = mlflow.MlflowClient()
        try:
            client.create_registered_model(self.registered_model_name)
        except MlflowException as exc:
            if exc.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
                raise
        created = client.create_model_version(
            self.registered_model_name,
            info.model_uri,
            run_id=mlflow.active_run().info.run_id,
            tags=tags,
            model_id=info.model_id,
        )
        return str(created.version)

    def _check_identity(self, tags: dict[str, str], latent_dim: int) -> None:
        missing = [key for key in GENERATOR_KEYS if key not in tags]
        if missing:
            raise DatasetError(
                f"'{self.name}' cannot be logged: its tags lack {missing}, which must come from "
                "the run's params:training (release's generator_identity gives them); a model "
                "logged without its noise would be served with another's bound."
            )
        if tags["latent_dim"] != str(latent_dim):
            raise DatasetError(
                f"'{self.name}' cannot be logged: the generator takes noise of size "
                f"{latent_dim}, but this run's training.latent_dim is {tags['latent_dim']}: it "
                "was trained by another configuration. Release it with the --env and --params "
                "it was trained with."
            )

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
