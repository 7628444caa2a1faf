"""TrackingStoreHook's checks: a dead server is refused in seconds; a sqlite store is created."""

import socket
import sqlite3
import time

import pytest

from wgan_pipeline.hooks.tracking_store import (
    TrackingServerUnreachableError,
    check_tracking_server,
    create_sqlite_store,
)


def test_a_server_that_does_not_answer_is_refused_at_once():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    start = time.perf_counter()
    with pytest.raises(TrackingServerUnreachableError, match=f"127.0.0.1:{port} does not answer"):
        check_tracking_server(f"http://127.0.0.1:{port}")
    assert time.perf_counter() - start < 10


def test_local_stores_need_no_server():
    check_tracking_server("sqlite:///mlflow.db")  # returns: nothing to ask


def test_a_new_sqlite_store_is_created_with_its_tables(tmp_path):
    path = tmp_path / "store" / "mlflow.db"
    create_sqlite_store(f"sqlite:///{path}")
    tables = {row[0] for row in sqlite3.connect(path).execute("select name from sqlite_master")}
    assert {"experiments", "runs"} <= tables
    assert (tmp_path / "store" / "mlflow.db.lock").exists()
