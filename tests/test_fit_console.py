"""The console's view of a fit: an epoch a line with the time left, progress inside long epochs
only, and the native log filter that keeps TensorFlow's C++ lines off the console."""

import io
import logging

import keras
import numpy as np
import pytest

from wgan_pipeline import fit_console
from wgan_pipeline.console import minutes_and_seconds, three_digits
from wgan_pipeline.fit_console import FitProgress
from wgan_pipeline.native_log import copy_without_native_lines


def fit_with(callback: FitProgress, epochs: int, steps: int) -> None:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((steps * 4, 2), "float32")
    model.fit(x, x[:, :1], batch_size=4, epochs=epochs, verbose=0, callbacks=[callback])


def console(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "wgan_pipeline.training"]


def test_each_epoch_is_one_line_with_what_it_gave_and_the_time_left(caplog):
    caplog.set_level(logging.INFO, "wgan_pipeline")
    said = FitProgress("epoch", 3, lambda epoch, logs: f"loss {logs['loss']:.3g}", terminal=False)
    fit_with(said, epochs=3, steps=5)
    lines = console(caplog)
    assert len(lines) == 3  # short epochs: no line inside them
    assert lines[0].startswith("epoch 1/3 · loss ") and " s · about " in lines[0]
    assert lines[1].startswith("epoch 2/3 · ") and lines[1].endswith(" left")
    assert lines[2].startswith("epoch 3/3 · ") and "left" not in lines[2]


def test_a_long_epoch_says_how_far_it_has_come(caplog, monkeypatch):
    """Without a terminal, a line at 10% marks once enough seconds passed (0 here)."""
    caplog.set_level(logging.INFO, "wgan_pipeline")
    monkeypatch.setattr(fit_console, "EVERY_SECONDS", 0)
    fit_with(FitProgress("epoch", 1, lambda e, logs: "", terminal=False), epochs=1, steps=20)
    inside = console(caplog)[:-1]
    assert [line.split(": ")[1].split(" ")[0] for line in inside] == [
        f"{p}%" for p in range(10, 100, 10)
    ]
    assert inside[0].startswith("epoch 1/1: 10% (2 of 20 steps, ")


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.4, "0 s"), (42, "42 s"), (95, "1 min 35 s"), (3600, "60 min 0 s")]
)
def test_durations_read_as_minutes_and_seconds(seconds, text):
    assert minutes_and_seconds(seconds) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(252.6508674158071, "253"), (34.07, "34.1"), (2.654, "2.65"), (1234.5, "1,234")],
)
def test_figures_print_to_three_significant_digits(value, text):
    assert three_digits(value) == text


NATIVE = [
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    b"I0000 00:00:1796638928.474219    2284 port.cc:153] oneDNN custom operations are on.",
    b"E0000 00:00:1796638932.478671    2284 cuda_platform.cc:52] failed call to cuInit: "
    b"INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    b"E0000 00:00:1796639006.377428    2498 meta_optimizer.cc:967] remapper failed: "
    b"INVALID_ARGUMENT: Mutation::Apply error",
    b"To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild "
    b"TensorFlow with the appropriate compiler flags.",
]
KEPT = [
    b"10:22:44 INFO    The mnist judge's test accuracy: 0.9885.",
    b"F0000 00:00:1796638932.478671    2284 fatal.cc:1] a fatal error passes",
    b"Error: Parameter validation failed: training.epochs: ...",
    b"Traceback (most recent call last):",
    b"\repoch 1/2:  40%|####      | 160/400",  # a progress bar's partial line, passed at once
]


def test_the_native_log_filter_drops_tensorflows_lines_and_keeps_the_rest():
    source = io.BufferedReader(
        io.BytesIO(b"\n".join(NATIVE[:2] + KEPT[:2] + NATIVE[2:] + KEPT[2:]))
    )
    sink = io.BytesIO()
    copy_without_native_lines(source, sink)
    assert sink.getvalue() == b"\n".join(KEPT[:2]) + b"\n" + b"\n".join(KEPT[2:])
