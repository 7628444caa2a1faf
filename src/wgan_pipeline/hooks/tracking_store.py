"""Check the MLflow tracking store before anything else touches it."""

from __future__ import annotations

import fcntl
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
from kedro.config import MissingConfigException
from kedro.framework.hooks import hook_impl


class TrackingServerUnreachableError(RuntimeError):
    """The MLflow tracking server configured in mlflow.yml does not answer."""


class TrackingStoreHook:
    """Before kedro-mlflow sets MLflow up (``tryfirst``), and so before any node runs:

    - an http(s) tracking server that does not answer stops the run within seconds, naming the
      URI and what to change (MLflow itself would retry for minutes, then print HTTP errors);
    - a new sqlite store is created under a lock, so ``kedro run``s started together do not
      both migrate it (one would fail with "Online migration expected to match one row").

    Reads ``mlflow.yml`` through the config loader: settings.py declares its pattern and the
    plugin's ``km.random_name`` resolver, which kedro-mlflow would only register after this.
    """

    @hook_impl(tryfirst=True)
    def after_context_created(self, context) -> None:
        try:
            server = context.config_loader["mlflow"].get("server") or {}
        except MissingConfigException:  # no mlflow.yml: the plugin's local default
            server = {}
        uri = str(server.get("mlflow_tracking_uri") or "")
        check_tracking_server(uri)
        if uri.startswith("sqlite:///"):
            create_sqlite_store(uri)


def check_tracking_server(uri: str, timeout: float = 5.0) -> None:
    """For an http(s) tracking URI, ask the server's /health; raise a clear error if it does not
    answer. Local stores (sqlite, files) need no check."""
    if not uri.startswith(("http://", "https://")):
        return
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout):
            return
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
    raise TrackingServerUnreachableError(
        f"The MLflow tracking server {uri} does not answer ({reason}); nothing was run. Start "
        f"it (mlflow server --host ... --port ...), or set server.mlflow_tracking_uri in "
        f"conf/<env>/mlflow.yml to a local store such as sqlite:///${{project_root:}}/mlflow.db."
    )


def create_sqlite_store(uri: str) -> None:
    """Create (migrate) the sqlite store at ``uri`` if needed, one process at a time."""
    lock = Path(uri.removeprefix("sqlite:///") + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        # The first request creates the store's tables (or migrates an old one).
        mlflow.MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
