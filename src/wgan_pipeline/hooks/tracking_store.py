"""Check the MLflow tracking store before anything else touches it."""

from __future__ import annotations

import fcntl
import json
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
from kedro.config import MissingConfigException
from kedro.framework.hooks import hook_impl


class TrackingServerUnreachableError(RuntimeError):
    """The MLflow tracking server configured in mlflow.yml does not answer."""


class TrackingStoreError(RuntimeError):
    """The local MLflow store cannot be opened."""


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
    """For an http(s) tracking URI: the server answers /health, and it speaks MLflow's REST API
    (any HTTP server answers /health with a page). Raise a clear error if not. Local stores
    (sqlite, files) need no check."""
    if not uri.startswith(("http://", "https://")):
        return
    base = uri.rstrip("/")
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=timeout):
            pass
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
    else:
        _check_speaks_mlflow(base, timeout)
        return
    raise TrackingServerUnreachableError(
        f"The MLflow tracking server {uri} does not answer ({reason}); nothing was run. Start "
        f"it (mlflow server --host ... --port ...), or set server.mlflow_tracking_uri in "
        f"conf/<env>/mlflow.yml to a local store such as sqlite:///${{project_root:}}/mlflow.db."
    )


def _check_speaks_mlflow(base: str, timeout: float) -> None:
    url = f"{base}/api/2.0/mlflow/experiments/search?max_results=1"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            json.loads(response.read())
            return
    except urllib.error.HTTPError as exc:
        what = f"HTTP {exc.code} from {url}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        what = f"no MLflow answer from {url} ({exc})"
    raise TrackingServerUnreachableError(
        f"{base} answers, but it is not an MLflow tracking server: {what}; nothing was run. "
        "Point server.mlflow_tracking_uri in conf/<env>/mlflow.yml at an MLflow server "
        "(mlflow server --host ... --port ...) or at a local store."
    )


def create_sqlite_store(uri: str) -> None:
    """Create (migrate) the sqlite store at ``uri`` if needed, one process at a time."""
    lock = Path(uri.removeprefix("sqlite:///") + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        # The first request creates the store's tables (or migrates an old one).
        try:
            mlflow.MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
        except Exception as exc:  # MLflow and SQLAlchemy raise many kinds; all mean the same
            raise TrackingStoreError(
                f"The MLflow store {lock.with_suffix('')} cannot be opened: it is not an MLflow "
                f"store, or it is locked or read-only ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:200]}). It is left as it is; nothing was run. Move "
                "it away, or set server.mlflow_tracking_uri in conf/<env>/mlflow.yml to another "
                "store."
            ) from None
