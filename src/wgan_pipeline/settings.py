"""Project settings: the MLflow hook and two config resolvers.

See https://docs.kedro.org/en/stable/configure/configuration_basics/ for what can be set here.
"""

from importlib.metadata import version
from pathlib import Path

from kedro.config import OmegaConfigLoader
from kedro.utils import find_kedro_project

from wgan_pipeline.hooks import ProjectMlflowHook, SerialSavesHook


def _project_root() -> str:
    """The Kedro project holding the working directory, so `mlflow.db` is found from notebooks/ too."""
    return str(find_kedro_project(Path.cwd()) or Path.cwd())


# kedro-mlflow's own hook is replaced by a subclass that logs typed (pydantic) parameter
# groups flattened and tags each run with the Kedro env and git commit; saves of concurrent
# runs take turns (see hooks.py).
HOOKS = (ProjectMlflowHook(), SerialSavesHook())
DISABLE_HOOKS_FOR_PLUGINS = ("kedro_mlflow",)

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # conf/<env>/ overrides single keys (training.epochs) and keeps the rest of conf/base;
    # Kedro's default would replace the whole `training` group.
    "merge_strategy": {"parameters": "soft"},
    # kedro-mlflow's own pattern, declared here so the project's hook can read mlflow.yml
    # before the plugin does (hooks.py checks the tracking server first).
    "config_patterns": {"mlflow": ["mlflow*", "mlflow*/**", "**/mlflow*"]},
    "custom_resolvers": {
        "project_root": _project_root,
        "pkg_version": version,  # ${pkg_version:keras} -> "3.15.1", for pinned requirements
    },
}
