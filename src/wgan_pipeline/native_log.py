"""TensorFlow's and XLA's C++ log lines, held back from a ``kedro run`` console.

TensorFlow 2.21 logs through Abseil straight to file descriptor 2 before Abseil's logging is
initialised, and no environment variable holds those lines back (``TF_CPP_MIN_LOG_LEVEL`` no
longer reaches them): ``I0000 ... oneDNN custom operations are on``, ``E0000 ... failed call to
cuInit`` on a machine without a GPU, ``E0000 ... remapper failed`` while grappler optimises a
graph. So a ``kedro run`` process points its descriptor 2 at a small filter process that copies
everything to the real stderr as it comes, except those lines (fatal ``F`` lines pass).

The filter is a process, not a thread: it needs no interpreter lock while native code writes,
and it copies what a process wrote before dying (a SIGKILL, Python's faulthandler) to the end.
It exits when every writer has closed the pipe.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import subprocess
import sys

# An Abseil/TensorFlow log line (severity I, W or E; F, fatal, passes), the line Abseil writes
# before its first one, and cpu_feature_guard's second line.
NATIVE_LINE = re.compile(
    rb"^(?:[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w./+-]+:\d+\] .*"
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|To enable the following instructions: .* in other operations, rebuild TensorFlow with "
    rb"the appropriate compiler flags\.)$"
)
# The start of a line that may still become one of those: held until its end is read.
MAYBE_NATIVE = re.compile(rb"^(?:[IWE]\d{0,4}(?: |$)|W(?:A|AR|ARN|ARNI|ARNIN|ARNING)?\b|To\b)")

FILTERED = "WGAN_NATIVE_LOG_FILTERED"  # set once a process's stderr goes through the filter


def filter_native_log() -> None:
    """Send this process's descriptor 2 (and its children's) through the filter process, once:
    a process whose stderr already goes through one (a child of a filtered run) keeps it."""
    if os.environ.get(FILTERED):
        return
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    original = os.dup(2)
    copier = subprocess.Popen(  # noqa: S603 (this interpreter, this module)
        [sys.executable, "-S", "-u", __file__],
        stdin=read_end,
        stdout=2,  # the real stderr, before it is replaced below
        stderr=subprocess.DEVNULL,
        close_fds=True,
        start_new_session=True,  # a Ctrl-C to the run's group does not stop the copying
    )
    os.close(read_end)
    os.environ[FILTERED] = "1" if sys.stderr.isatty() else "pipe"  # children know what it was
    os.dup2(write_end, 2)
    os.close(write_end)
    atexit.register(_finish, copier, original)


def _finish(copier: subprocess.Popen, original: int) -> None:
    """At exit: close this process's end of the pipe and let the filter copy the last lines, so
    they come before the shell's prompt (children still writing keep it open: not waited for)."""
    sys.stderr.flush()
    os.dup2(original, 2)
    with contextlib.suppress(subprocess.TimeoutExpired):
        copier.wait(timeout=5)


def stderr_is_terminal() -> bool:
    """Whether the run's stderr is a terminal, also once it goes through the filter."""
    return os.environ.get(FILTERED) == "1" or (not os.environ.get(FILTERED) and sys.stderr.isatty())


def copy_without_native_lines(source, sink) -> None:
    """Copy ``source`` to ``sink`` (binary files) as bytes arrive, leaving out native log
    lines. A partial line is copied at once (a progress bar's ``\\r`` updates) unless it may
    still become a native line."""
    pending = b""
    while chunk := source.read1(1 << 16):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        out = b"".join(line + b"\n" for line in lines if not NATIVE_LINE.match(line))
        if pending and not MAYBE_NATIVE.match(pending):
            out, pending = out + pending, b""
        if out:
            sink.write(out)
            sink.flush()
    if pending and not NATIVE_LINE.match(pending):
        sink.write(pending)
        sink.flush()


if __name__ == "__main__":
    copy_without_native_lines(sys.stdin.buffer, sys.stdout.buffer)
