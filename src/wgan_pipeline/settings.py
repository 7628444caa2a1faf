"""Project settings: the project's hooks and the config loader.

See https://docs.kedro.org/en/stable/configure/configuration_basics/ for what can be set here.
"""

import logging
import sys
from pathlib import Path

from kedro.config import OmegaConfigLoader
from kedro.utils import find_kedro_project
from kedro_mlflow.config.resolvers import resolve_random_name

from wgan_pipeline import verbose
from wgan_pipeline.hooks import (
    ConfigChecksHook,
    RunLifecycleHook,
    RunSummaryHook,
    RunTagsHook,
    SerialSavesHook,
    SystemMetricsHook,
    TrackingStoreHook,
    TypedParamsAsDictsHook,
)

# Kedro parses `--params` before any hook runs, and Python refuses to read an int of over 4,300
# digits there with its own message: up to what one command-line argument holds (128 KiB), it is
# read, so the parameter's schema names the key and the bound (params.MAX_INT).
sys.set_int_max_str_digits(max(sys.get_int_max_str_digits(), 1 << 17))

# kedro-mlflow sets its logger to INFO as it is imported (above), over conf/logging.yml.
if not verbose():
    logging.getLogger("kedro_mlflow").setLevel(logging.WARNING)


def _project_root() -> str:
    """The Kedro project holding the working directory, so `mlflow.db` is found from notebooks/ too."""
    return str(find_kedro_project(Path.cwd()) or Path.cwd())


# Beside kedro-mlflow's own hook, which runs as installed; hooks/__init__.py says which moment
# of a run each one owns and how they are ordered around kedro-mlflow's.
HOOKS = (
    ConfigChecksHook(),
    TrackingStoreHook(),
    TypedParamsAsDictsHook(),
    RunTagsHook(),
    RunLifecycleHook(),
    RunSummaryHook(),
    SerialSavesHook(),
    SystemMetricsHook(),
)

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # conf/<env>/ overrides single keys (training.epochs) and keeps the rest of conf/base;
    # Kedro's default would replace the whole `training` group.
    # The same for mlflow.yml and sweep.yml (conf/cluster sets the server and keeps the rest).
    "merge_strategy": {"parameters": "soft", "mlflow": "soft", "sweep": "soft"},
    # mlflow.yml is read by TrackingStoreHook before kedro-mlflow's set-up (which would retry a
    # dead server for minutes): so its file pattern and its ${km.random_name:} resolver must be
    # known here, before the plugin adds them itself (it keeps what it finds).
    "config_patterns": {
        "mlflow": ["mlflow*", "mlflow*/**", "**/mlflow*"],
        "sweep": ["sweep*", "sweep*/**"],  # `kedro sweep`'s spec
        "system_metrics": ["system_metrics*"],
    },
    "custom_resolvers": {
        "project_root": _project_root,
        "km.random_name": resolve_random_name,
    },
}
