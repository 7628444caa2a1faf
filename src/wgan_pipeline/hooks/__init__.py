"""The project's Kedro hooks, one behaviour each (settings.py registers them beside kedro-mlflow's
own hook, which runs as installed)."""

from .checkpoint_cleanup import CheckpointCleanupHook
from .config_checks import ConfigChecksHook
from .dead_runs import DeadRunsHook
from .interruption import KilledOnInterruptionHook, StopOnSignalHook
from .output_paths import OutputPathsHook
from .run_tags import RunTagsHook
from .serial_saves import SerialSavesHook
from .system_metrics import SystemMetricsHook
from .tracking_store import TrackingStoreHook
from .typed_params import TypedParamsAsDictsHook

__all__ = [
    "CheckpointCleanupHook",
    "ConfigChecksHook",
    "DeadRunsHook",
    "KilledOnInterruptionHook",
    "OutputPathsHook",
    "RunTagsHook",
    "SerialSavesHook",
    "StopOnSignalHook",
    "SystemMetricsHook",
    "TrackingStoreHook",
    "TypedParamsAsDictsHook",
]
