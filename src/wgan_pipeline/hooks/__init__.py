"""The project's Kedro hooks, one behaviour each (settings.py registers them beside kedro-mlflow's
own hook, which runs as installed)."""

from .interruption import KilledOnInterruptionHook
from .run_tags import RunTagsHook
from .serial_saves import SerialSavesHook
from .tracking_store import TrackingStoreHook
from .typed_params import TypedParamsAsDictsHook

__all__ = [
    "KilledOnInterruptionHook",
    "RunTagsHook",
    "SerialSavesHook",
    "TrackingStoreHook",
    "TypedParamsAsDictsHook",
]
