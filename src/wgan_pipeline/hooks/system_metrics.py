"""MLflow's system metrics for every run: CPU, memory, disk and network, and GPU utilisation and
memory where NVIDIA's library sees a GPU."""

from __future__ import annotations

import mlflow
from kedro.config import MissingConfigException
from kedro.framework.hooks import hook_impl


class SystemMetricsHook:
    """Before kedro-mlflow starts the run: MLflow samples the machine every
    ``sampling_interval`` seconds while the run is open and logs ``system/*`` metrics to it (the
    UI's "System metrics" tab), as conf/<env>/system_metrics.yml says. A sweep trial's run and
    the sweep's parent run get them too, so starved trials and busy nodes show."""

    @hook_impl
    def after_context_created(self, context) -> None:
        try:
            conf = context.config_loader["system_metrics"]
        except MissingConfigException:
            conf = {}
        if not conf.get("enabled", True):
            mlflow.disable_system_metrics_logging()
            return
        mlflow.enable_system_metrics_logging()
        mlflow.set_system_metrics_sampling_interval(float(conf.get("sampling_interval", 10)))
