"""TrackingStoreHook's checks: a dead server is refused in seconds; a sqlite store is created."""

import http.server
import socket
import sqlite3
import threading
import time

import pytest

from wgan_pipeline.hooks.tracking_store import (
    TrackingServerUnreachableError,
    TrackingStoreError,
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
    with pytest.raises(TrackingStoreError, match=f"{path}.*not an MLflow store"):
        create_sqlite_store(f"sqlite:///{path}")
    assert path.read_text() == "my notes, not a database"
