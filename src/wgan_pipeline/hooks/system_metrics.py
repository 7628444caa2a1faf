"""MLflow's system metrics for every run: CPU, memory, disk and network, and GPU utilisation and
memory where NVIDIA's library sees a GPU."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import mlflow
from kedro.config import AbstractConfigLoader, MissingConfigException
from kedro.framework.hooks import hook_impl
from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor


def sampling_interval(config_loader: AbstractConfigLoader) -> float | None:
    """Seconds between samples as conf/<env>/system_metrics.yml says, or None when disabled."""
    try:
        conf = config_loader["system_metrics"]
    except MissingConfigException:
        conf = {}
    if not conf.get("enabled", True):
        return None
    return float(conf.get("sampling_interval", 10))


@contextlib.contextmanager
def system_metrics(run_id: str, interval: float | None) -> Iterator[None]:
    """One sampling thread logging ``system/*`` metrics to ``run_id`` while the block runs
    (none when ``interval`` is None)."""
    if interval is None:
        yield
        return
    monitor = SystemMetricsMonitor(run_id, sampling_interval=interval)
    monitor.start()
    try:
        yield
    finally:
        monitor.finish()


class SystemMetricsHook:
    """While kedro-mlflow's run is open, one thread samples the machine every
    ``sampling_interval`` seconds and logs ``system/*`` metrics to it (the UI's "System
    metrics" tab), as conf/<env>/system_metrics.yml says. A sweep trial's run gets them too,
    so starved trials and busy nodes show.

    Not MLflow's ``enable_system_metrics_logging``: kedro-mlflow reopens the run before every
    node (for threaded runners), and MLflow would then start one more monitor per node, each
    logging the same metrics until the process ends."""

    def __init__(self) -> None:
        self._interval: float | None = None
        self._stack = contextlib.ExitStack()

    @hook_impl
    def after_context_created(self, context) -> None:
        self._interval = sampling_interval(context.config_loader)

    @hook_impl(wrapper=True)
    def before_pipeline_run(self, run_params, pipeline, catalog):
        result = yield  # kedro-mlflow starts (or adopts) the run here
        run = mlflow.active_run()
        if run is not None:
            self._stack.enter_context(system_metrics(run.info.run_id, self._interval))
        return result

    @hook_impl
    def after_pipeline_run(self, run_params, pipeline, catalog) -> None:
        self._stack.close()

    @hook_impl
    def on_pipeline_error(self, error, run_params, pipeline, catalog) -> None:
        self._stack.close()
