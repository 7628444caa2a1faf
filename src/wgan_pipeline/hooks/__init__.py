"""The project's Kedro hooks, each owning one moment of a run, in the order they act around
kedro-mlflow's own hook (which runs as installed; settings.py registers ours):

1. the session starts: ``ConfigChecksHook`` (a wrapper, first of all) refuses an unknown env,
   parameter group or output root; ``TrackingStoreHook`` (``tryfirst``) refuses a dead tracking
   server and creates a new store under a lock, before kedro-mlflow reads mlflow.yml;
2. before the run opens (``tryfirst``, so a refusal leaves no MLflow run): ``ConfigChecksHook``
   checks every path the pipeline writes and the judge;
3. the run opens: ``RunLifecycleHook`` wraps kedro-mlflow's start (signals stop the run, dead
   runs are closed, this one is marked live), ``RunTagsHook`` (``trylast``) names it, makes its
   tags readable and tags its experiment, and ``SystemMetricsHook`` (a wrapper) samples the
   machine into it;
4. each node: ``TypedParamsAsDictsHook`` (``tryfirst``) shows typed parameters to kedro-mlflow
   as dicts; ``SerialSavesHook`` makes saves and loads of runs started together take turns;
   ``RunTagsHook`` logs the raw data as the run's input and the final evaluation's headline
   metrics;
5. the run ends (``trylast``, after kedro-mlflow closed it): ``RunLifecycleHook`` removes or
   keeps the checkpoints and turns a stop into KILLED (wgan_pipeline/lifecycle.py);
   ``RunSummaryHook`` says what the run kept, how good it is and where it all is;
   ``RunTagsHook`` writes the same result as the MLflow run's description.
"""

from .config_checks import ConfigChecksHook
from .lifecycle import RunLifecycleHook
from .run_summary import RunSummaryHook
from .run_tags import RunTagsHook
from .serial_saves import SerialSavesHook
from .system_metrics import SystemMetricsHook
from .tracking_store import TrackingStoreHook
from .typed_params import TypedParamsAsDictsHook

__all__ = [
    "ConfigChecksHook",
    "RunLifecycleHook",
    "RunSummaryHook",
    "RunTagsHook",
    "SerialSavesHook",
    "SystemMetricsHook",
    "TrackingStoreHook",
    "TypedParamsAsDictsHook",
]
