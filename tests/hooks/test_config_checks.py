"""ConfigChecksHook's checks: mixed precision refused up front where bfloat16 cannot run; the
data set set where the catalog follows it."""

import pytest
from kedro.config import OmegaConfigLoader

from wgan_pipeline.hooks.config_checks import (
    ConfigurationError,
    check_dataset_follows_globals,
    check_mixed_precision,
)
from wgan_pipeline.settings import CONFIG_LOADER_ARGS
from wgan_pipeline.training_run.devices import bfloat16_unsupported

from ..helpers import PROJECT_ROOT


def test_float32_needs_no_check():
    check_mixed_precision({"mixed_precision": False})
    check_mixed_precision(None)


def test_bfloat16_is_refused_where_it_cannot_run_and_allowed_where_it_can():
    if bfloat16_unsupported():
        with pytest.raises(ConfigurationError, match="training.mixed_precision is true, but"):
            check_mixed_precision({"mixed_precision": True})
    else:
        check_mixed_precision({"mixed_precision": True})


class Loader(dict):
    def __init__(self, globals_, runtime_params=None):
        super().__init__(globals=globals_)
        self.runtime_params = runtime_params or {}


class Context:
    def __init__(self, globals_dataset, runtime=None):
        self.config_loader = Loader({"dataset": globals_dataset}, runtime)


def test_a_data_set_set_where_the_catalog_cannot_see_it_is_refused():
    """data.dataset in a parameters file: the catalog would read MNIST's files and paths."""
    fashion = {"dataset": "fashion_mnist"}
    with pytest.raises(ConfigurationError, match="data.dataset is 'fashion_mnist' in the param"):
        check_dataset_follows_globals(Context("mnist"), fashion)
    check_dataset_follows_globals(Context("mnist"), {"dataset": "mnist"})
    runtime = {"data": fashion}  # --params: params and catalog both follow
    check_dataset_follows_globals(Context("mnist", runtime), fashion)


def test_the_fashion_env_moves_the_parameter_and_every_path():
    loader = OmegaConfigLoader(str(PROJECT_ROOT / "conf"), env="fashion", **CONFIG_LOADER_ARGS)
    assert loader["parameters"]["data"]["dataset"] == "fashion_mnist"
    catalog = loader["catalog"]
    assert catalog["raw_images"]["dataset"] == "fashion_mnist"
    for name in ("generator", "critic"):
        assert catalog[name]["filepath"] == f"data/06_models/fashion_mnist/{name}.keras"
    assert catalog["classifier"]["filepath"] == "data/06_models/fashion_mnist/judge.keras"
    assert catalog["training_checkpoints"]["path"] == "data/06_models/fashion_mnist/checkpoints"
