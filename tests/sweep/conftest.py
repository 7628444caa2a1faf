"""Real services for the sweep tests, started on 127.0.0.1 and torn down: PostgreSQL (Debian's
package, installed with apt-get when missing), an MLflow server on it with proxied artifacts,
and a local Ray cluster (`ray start --head`)."""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..browser.helpers import free_port, log_tail, running_server
from ..helpers import apt_install, kedro_env


@dataclass(frozen=True)
class Postgres:
    port: int
    uri: str  # postgresql+psycopg2://mlflow@127.0.0.1:<port>/mlflow

    def query(self, sql: str) -> list[tuple]:
        import psycopg2  # noqa: PLC0415 (the sweep extra)

        dsn = self.uri.replace("+psycopg2", "")  # SQLAlchemy's driver name, not libpq's
        with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()


def postgres_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def as_db_user(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the package's `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    if postgres_bin("initdb") is None:
        apt_install("postgresql")
    initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
    folder = Path(tempfile.mkdtemp(prefix="wgan-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", free_port()

    def run(args: list[str]) -> None:
        result = subprocess.run(as_db_user(args), capture_output=True, text=True, timeout=120,
                                check=False)  # fmt: skip
        assert result.returncode == 0, f"{args[0]}: {(result.stdout + result.stderr)[-2000:]}"

    run([initdb, "-D", str(data), "-U", "mlflow", "-A", "trust", "--no-sync"])
    run([pg_ctl, "-D", str(data), "-l", str(folder / "postgres.log"), "-w", "-t", "60", "-o",
         f"-h 127.0.0.1 -p {port} -k {folder}", "start"])  # fmt: skip
    try:
        run([postgres_bin("createdb") or "createdb", "-h", "127.0.0.1", "-p", str(port), "-U",
             "mlflow", "mlflow"])  # fmt: skip
        yield Postgres(port, f"postgresql+psycopg2://mlflow@127.0.0.1:{port}/mlflow")
    finally:
        subprocess.run(as_db_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True, timeout=60, check=False)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def mlflow_server(postgres, tmp_path_factory) -> Iterator[str]:
    """`mlflow server` with PostgreSQL as its store and the artifacts it serves in a folder of
    its own; yields its URL."""
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    args = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", postgres.uri,
            "--artifacts-destination", (folder / "artifacts").as_uri(), "--serve-artifacts",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]  # fmt: skip
    env = {**kedro_env(), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    with running_server(args, folder, folder / "server.log", env) as server:
        server.wait_for_http(f"http://127.0.0.1:{port}/health", timeout=180)
        yield f"http://127.0.0.1:{port}"


def ray_node_address() -> str:
    """The address Ray gives this node (the source address of its default route)."""
    from ray._private.services import get_node_ip_address  # noqa: PLC0415

    return get_node_ip_address()


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory) -> Iterator[str]:
    """A local Ray cluster of one head node, 2 CPUs, no dashboard; yields its address. Its
    workers get the environment of `ray start` (kedro_env: no telemetry, no MLflow state).

    The head listens on this machine's own address, not 127.0.0.1: a client joining by address
    has Ray rewrite 127.0.0.1 to the node's address (``resolve_ip_for_localhost``), where a
    head bound to 127.0.0.1 does not answer. Nothing leaves the machine either way.

    Token authentication, as a cluster should run: the head, its workers and the sweep's driver
    (the CLI the tests start, through this process's environment) share one token file."""
    pytest.importorskip("ray")
    ray = str(Path(sys.executable).with_name("ray"))
    port = free_port()
    folder = tmp_path_factory.mktemp("ray")
    token = folder / "auth_token"
    token.write_text(secrets.token_hex(32))
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}
    saved = {name: os.environ.get(name) for name in auth}
    os.environ.update(auth)
    env = kedro_env()
    log = folder / "ray-start.log"
    # --block: the head's processes stay in this command's process group, so stopping the group
    # stops this cluster alone (`ray stop` would stop every Ray cluster on the machine).
    start = [ray, "start", "--head", "--block", f"--port={port}", "--num-cpus=2",
             "--num-gpus=0", "--include-dashboard=false", "--disable-usage-stats"]  # fmt: skip
    with running_server(start, folder, log, env) as head:
        deadline = time.monotonic() + 180
        while "Ray runtime started" not in log.read_text(errors="replace"):
            assert head.proc.poll() is None and time.monotonic() < deadline, log_tail(log)
            time.sleep(0.5)
        try:
            yield f"{ray_node_address()}:{port}"
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    # the head wrote its address where ray.init() looks for "the" local cluster; it is gone now
    current = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"
    with contextlib.suppress(OSError):
        if current.read_text().strip().endswith(f":{port}"):
            current.unlink()
