"""The library internals the project leans on where no public surface does the job, each pinned
so that an upgrade that moves or changes one fails here, by name, before a run does. (Keras'
JAX trainer has its own: tests/test_jax_backend.py::test_keras_jax_trainer_contract.)"""

from __future__ import annotations

import inspect

import pytest
from kedro.io.core import DatasetError, Version
from kedro_datasets.tensorflow import TensorFlowModelDataset


def test_mlflow_system_metrics_monitor():
    """hooks/system_metrics.py starts one monitor per run itself (MLflow's public switch starts
    one more every time kedro-mlflow reopens the run): the class, its run id and sampling
    interval, start and finish."""
    from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor  # noqa: PLC0415

    parameters = inspect.signature(SystemMetricsMonitor).parameters
    assert "run_id" in parameters and "sampling_interval" in parameters
    assert callable(SystemMetricsMonitor.start) and callable(SystemMetricsMonitor.finish)


def test_kedro_dataset_load_wrapper_and_versioned_save_error(tmp_path):
    """datasets/keras_model.py calls kedro-datasets' load without Kedro's error wrapper (to name
    the version file in its own message), and recognises Kedro's refusal to save over a version
    that another process took by its text."""
    assert callable(TensorFlowModelDataset.load.__wrapped__)

    version = Version(None, "2026-01-01T00.00.00.000Z")
    dataset = TensorFlowModelDataset(filepath=str(tmp_path / "m.keras"), version=version)
    (tmp_path / "m.keras" / version.save / "m.keras").mkdir(parents=True)
    with pytest.raises(DatasetError, match="must not exist"):
        dataset._get_save_path()
