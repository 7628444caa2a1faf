"""TrackingStoreHook's checks: a dead server is refused in seconds; a sqlite store is created;
a local store MLflow could not use is refused in seconds and left as it was."""

import http.server
import os
import socket
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from wgan_pipeline.hooks.tracking_store import (
    TrackingServerUnreachableError,
    TrackingStoreError,
    check_tracking_server,
    create_sqlite_store,
)

from ..helpers import digest, write_locked


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


def test_an_http_server_that_is_not_mlflow_is_refused():
    """Any web server answers /health; only MLflow answers its REST API."""

    class HealthOnly(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # 200 on /health, as any static server with a health page does
            self.send_response(200 if self.path == "/health" else 404)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>OK</html>")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HealthOnly)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        uri = f"http://127.0.0.1:{server.server_port}"
        with pytest.raises(TrackingServerUnreachableError, match="not an MLflow tracking server"):
            check_tracking_server(uri)
    finally:
        server.shutdown()
        server.server_close()


def test_a_store_that_is_not_a_database_is_refused_and_untouched(tmp_path):
    path = tmp_path / "mlflow.db"
    path.write_text("my notes, not a database")
    with pytest.raises(TrackingStoreError, match=f"{path} is not an SQLite database"):
        create_sqlite_store(f"sqlite:///{path}")
    assert path.read_text() == "my notes, not a database"


def test_another_programs_database_is_refused_and_untouched(tmp_path):
    """MLflow would add its tables to any SQLite file it is pointed at."""
    path = tmp_path / "mlflow.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE expenses (amount REAL)")
    before = digest(path)
    with pytest.raises(TrackingStoreError, match="an SQLite database, but not MLflow's.*expenses"):
        create_sqlite_store(f"sqlite:///{path}")
    assert digest(path) == before


def test_a_folder_where_the_store_should_be_is_refused(tmp_path):
    (tmp_path / "mlflow.db").mkdir()
    with pytest.raises(TrackingStoreError, match="is a folder, not a database file"):
        create_sqlite_store(f"sqlite:///{tmp_path / 'mlflow.db'}")


def test_a_store_locked_by_another_process_is_refused_in_seconds_and_untouched(tmp_path):
    """Another process holds the write lock (a `sqlite3` shell in a transaction, a stuck
    program): refused after the check's 5 s, not MLflow's 20 s and its traceback."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    create_sqlite_store(uri)  # a real MLflow store
    path = tmp_path / "mlflow.db"
    before = digest(path)
    with write_locked(path):
        start = time.monotonic()
        with pytest.raises(TrackingStoreError, match=f"{path} is locked by another process"):
            create_sqlite_store(uri)
        assert time.monotonic() - start < 15
    assert digest(path) == before
    create_sqlite_store(uri)  # usable again once the other process lets go


def read_only_folder(tmp_path: Path) -> Path:
    """A folder this user cannot write: chmod where permissions apply; as root (who writes
    anything), a read-only file system."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        (folder / "mlflow.db").touch()
        folder.chmod(0o555)
        return folder
    if Path("/proc/sys/kernel/ostype").is_file() and not os.access("/proc/sys", os.W_OK):
        return Path("/proc/sys/kernel")  # read-only to root in containers
    pytest.skip("running as root with no read-only file system to write to")


def test_a_read_only_store_or_folder_is_refused(tmp_path):
    folder = read_only_folder(tmp_path)
    existing = next(p for p in sorted(folder.iterdir()) if p.is_file())
    with pytest.raises(TrackingStoreError, match=f"{existing} is read-only to this user"):
        create_sqlite_store(f"sqlite:///{existing}")
    missing = folder / "no-such-mlflow.db"
    with pytest.raises(TrackingStoreError, match=f"{missing} cannot be created: {folder} is not"):
        create_sqlite_store(f"sqlite:///{missing}")
    assert not missing.exists()
