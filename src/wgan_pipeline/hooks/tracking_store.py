"""Check the MLflow tracking store before anything else touches it."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
from kedro.config import MissingConfigException
from kedro.framework.hooks import hook_impl

from wgan_pipeline.errors import Refused
from wgan_pipeline.waits import lock_waiting


class TrackingServerUnreachableError(Refused, RuntimeError):
    """The MLflow tracking server configured in mlflow.yml does not answer."""


class TrackingStoreError(Refused, RuntimeError):
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
    except urllib.error.HTTPError as exc:  # it answers, but not as MLflow does
        _refuse_non_mlflow(base, f"HTTP {exc.code} from {base}/health")
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
        if exc.code in (401, 403):  # a server with authentication: MLflow's client logs in
            return
        what = f"HTTP {exc.code} from {url}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        what = f"no MLflow answer from {url} ({exc})"
    _refuse_non_mlflow(base, what)


def _refuse_non_mlflow(base: str, what: str) -> None:
    raise TrackingServerUnreachableError(
        f"{base} answers, but it is not an MLflow tracking server: {what}; nothing was run. "
        "Point server.mlflow_tracking_uri in conf/<env>/mlflow.yml at an MLflow server "
        "(mlflow server --host ... --port ...) or at a local store."
    )


def _refusal(path: Path, fault: str, fix: str) -> TrackingStoreError:
    return TrackingStoreError(
        f"The MLflow store {path} {fault}. It is left as it is; nothing was run. {fix}, or "
        "set server.mlflow_tracking_uri in conf/<env>/mlflow.yml to another store."
    )


def check_sqlite_path(path: Path) -> None:
    """Refuse a local store path MLflow could not use: a folder, a file this user cannot write,
    or one in a folder it cannot write (SQLite writes its journal beside the file)."""

    def refuse(fault: str, fix: str) -> TrackingStoreError:
        return _refusal(path, fault, fix)

    if not path.exists():
        folder = next(p for p in path.parents if p.exists())
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise refuse(
                f"cannot be created: {folder} is not a folder this user can write",
                f"Make {folder} a writable folder",
            )
        return
    if path.is_dir():
        raise refuse("is a folder, not a database file", "Move the folder away")
    if not os.access(path, os.R_OK | os.W_OK) or not os.access(path.parent, os.W_OK | os.X_OK):
        raise refuse(
            "is read-only to this user (the file or its folder)",
            "Give this user write access to both (chmod u+w), or run as its owner",
        )


def check_sqlite_database(path: Path, timeout: float = 5.0) -> None:
    """Refuse, within ``timeout`` seconds and without changing a byte of it, an existing store
    that is not an SQLite database, or that another process holds locked for writing (MLflow
    would wait 20 s, then fail with its own traceback)."""

    def refuse(fault: str, fix: str) -> TrackingStoreError:
        return _refusal(path, fault, fix)

    if not path.is_file():
        return
    try:
        connection = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=timeout
        )
    except sqlite3.Error as exc:
        raise refuse(f"cannot be opened ({exc})", "Check the file") from None
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        if tables and "alembic_version" not in tables:  # MLflow would add its tables to it
            raise refuse(
                f"is an SQLite database, but not MLflow's (its tables: {sorted(tables)[:5]})",
                "Move it away",
            )
        # Take the write lock MLflow will need, and give it back: nothing is written.
        connection.execute("BEGIN IMMEDIATE")
        connection.rollback()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise refuse(
                f"is locked by another process (no write lock within {timeout:.0f} s)",
                "Wait for it or stop it (`fuser` names it)",
            ) from None
        raise refuse(f"cannot be read ({exc})", "Move it away") from None
    except sqlite3.DatabaseError as exc:
        raise refuse(f"is not an SQLite database ({exc})", "Move it away") from None
    finally:
        connection.close()


def create_sqlite_store(uri: str) -> None:
    """Create (migrate) the sqlite store at ``uri`` if needed, one process at a time."""
    store = Path(uri.removeprefix("sqlite:///"))
    check_sqlite_path(store)
    lock = Path(uri.removeprefix("sqlite:///") + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as handle:
        # released when the file closes; another run creating the store takes seconds
        lock_waiting(handle, fcntl.LOCK_EX, lock, "the MLflow store's creation", 120)
        check_sqlite_database(store)  # under the lock: another run may be creating it
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
