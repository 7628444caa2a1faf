"""Helpers for the browser tests: a headless Chromium driven by Playwright, local servers.

Playwright's own browser download needs the network, so Playwright drives the system's
Chromium (Debian's `chromium` package) through ``executable_path``. Without one, the fixture
installs it with apt-get when it can (root, apt-get present); otherwise the tests skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page

from ..helpers import PROJECT_ROOT, apt_install

VIEWPORT = {"width": 1400, "height": 900}
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")


# --- ports, servers -------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_tail(log: Path, chars: int = 4000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.is_file() else "(no log)"


class Server:
    """A command started in its own process group, its output in ``log``."""

    def __init__(self, args: list[str], cwd: Path, log: Path, env: dict | None = None):
        self.args, self.log = args, log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip

    def wait_for_http(self, url: str, timeout: float) -> None:
        """Poll ``url`` until it answers 200; fail early if the server exits."""
        deadline = time.monotonic() + timeout
        error: object = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"{self.args[0]} exited with {self.proc.returncode} before {url} answered:\n"
                    + log_tail(self.log)
                )
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        return
                    error = f"HTTP {response.status}"
            except (OSError, urllib.error.URLError) as exc:
                error = exc
            time.sleep(0.5)
        pytest.fail(
            f"{url} did not answer within {timeout:.0f} s ({error}):\n" + log_tail(self.log)
        )

    def stop(self, grace: float = 10) -> None:
        """SIGTERM the whole process group (the server and its workers), SIGKILL what is left."""
        pgid = self.proc.pid  # start_new_session: the process leads its own group
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            if self._group_ends(pgid, wait):
                break
        self.proc.wait(timeout=5)

    def _group_ends(self, pgid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.proc.poll()  # reap the leader, else the group never looks empty
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.1)
        return False


@contextmanager
def running_server(args: list[str], cwd: Path, log: Path, env: dict | None = None) -> Iterator:
    """A started :class:`Server`, stopped with its children however the block ends."""
    server = Server(args, cwd, log, env)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def static_http_server(folder: Path, log: Path) -> Iterator[str]:
    """``python -m http.server`` serving ``folder`` on a free local port; yields its base URL."""
    port = free_port()
    args = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    with running_server(args, folder, log) as server:
        url = f"http://127.0.0.1:{port}/"
        server.wait_for_http(url, timeout=30)
        yield url


# --- chromium -------------------------------------------------------------------------------


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        if path := shutil.which(name):
            return path
    return None


def install_chromium() -> str:
    """Debian's chromium via apt-get, or skip saying why it cannot be installed."""
    apt_install("chromium")
    if path := find_chromium():
        return path
    pytest.skip("chromium cannot be installed: apt-get succeeded but no chromium binary is on PATH")


# --- screenshots ----------------------------------------------------------------------------


def screenshot_dir() -> Path:
    """``$WGAN_SCREENSHOT_DIR`` (e.g. docs/images to refresh README's pictures), else the CI
    artifact folder artifacts/screenshots/ under the project root."""
    folder = os.environ.get("WGAN_SCREENSHOT_DIR")
    path = Path(folder).resolve() if folder else PROJECT_ROOT / "artifacts" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_screenshot(page: Page, name: str, full_page: bool = True) -> Path:
    """A PNG of the page, reduced to a 256-colour palette (a third of the size; README shows
    these)."""
    path = screenshot_dir() / name
    page.screenshot(path=path, full_page=full_page, type="png", animations="disabled")
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(256)
    small.save(path, optimize=True)
    return path


@contextmanager
def screenshot_on_failure(page: Page, name: str) -> Iterator[None]:
    """If the block fails, save what the page showed as ``<name>-failed.png`` (never over the
    picture a passing run saves) and name it in the error."""
    try:
        yield
    except Exception as exc:
        try:
            path = save_screenshot(page, name.removesuffix(".png") + "-failed.png")
            note = f"screenshot of the page: {path}\nbrowser console:\n{browser_log(page)}"
        except Exception as shot_error:  # a dead browser must not hide the first error
            note = f"(no screenshot: {shot_error})"
        if hasattr(exc, "add_note"):  # Python 3.11+
            exc.add_note(note)
        raise


def browser_log(page: Page, chars: int = 3000) -> str:
    """The page's console messages and uncaught errors, for failure messages."""
    lines = [f"{m.type}: {m.text}" for m in page.console_messages()]
    lines += [f"pageerror: {e}" for e in page.page_errors()]
    return "\n".join(lines)[-chars:] or "(nothing in the browser console)"
