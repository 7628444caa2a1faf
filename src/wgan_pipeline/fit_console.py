"""What a person watching ``kedro run`` sees of a ``fit`` (the judge's training and the GAN's):
a progress bar inside an epoch on a terminal (a line every few percent otherwise, so a log file
shows the run moving), then one line per epoch with what the epoch gave, its seconds and the
time left. The console's Keras side (console.py holds its words, without Keras).

Keras' own output (``verbose=1``) is a bar per epoch and every metric at full precision; with
it off (``verbose=0``) this callback says what a person needs, through the ``wgan_pipeline``
logger so that it lands where the run's other lines go."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any

import keras
from tqdm.auto import tqdm

from wgan_pipeline.console import minutes_and_seconds
from wgan_pipeline.native_log import stderr_is_terminal

logger = logging.getLogger("wgan_pipeline.training")

# Without a terminal: a line at each 10% of an epoch, at most one each 20 s (an epoch of a few
# seconds says only its end; one of minutes, how far it has come every 10 to 20%).
EVERY_PERCENT = 10
EVERY_SECONDS = 20


class FitProgress(keras.callbacks.Callback):
    """The console's view of ``fit`` (run it with ``verbose=0``).

    ``what``: the name on each line (``epoch`` or ``judge epoch``); ``epochs``: the last epoch
    (1-based), for ``3/16`` and the time left; ``describe(epoch, logs)``: what an epoch gave, in
    a few words (``FID 34.1``), called after the callbacks listed before this one."""

    def __init__(
        self,
        what: str,
        epochs: int,
        describe: Callable[[int, dict[str, Any]], str],
        terminal: bool | None = None,
    ):
        super().__init__()
        self.what, self.epochs, self.describe = what, epochs, describe
        self.terminal = stderr_is_terminal() if terminal is None else terminal
        self._seconds: list[float] = []  # of each epoch this fit ran, for the time left
        self._bar = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._start = epoch + 1, time.perf_counter()
        self._steps = self.params.get("steps") or 0
        self._next_percent, self._said = EVERY_PERCENT, self._start
        if self.terminal and self._steps:
            self._bar = tqdm(
                total=self._steps,
                desc=f"{self.what} {self._epoch}/{self.epochs}",
                unit="step",
                leave=False,
                file=sys.stderr,
            )

    def on_train_batch_end(self, batch, logs=None):
        if self._bar is not None:
            self._bar.update(1)
            return
        if not self._steps:
            return
        percent = 100 * (batch + 1) // self._steps
        if percent < self._next_percent or batch + 1 == self._steps:
            return
        self._next_percent = (percent // EVERY_PERCENT + 1) * EVERY_PERCENT
        now = time.perf_counter()
        if now - self._said >= EVERY_SECONDS:
            self._said = now
            logger.info(
                "%s %d/%d: %d%% (%d of %d steps, %s)",
                self.what,
                self._epoch,
                self.epochs,
                percent,
                batch + 1,
                self._steps,
                minutes_and_seconds(now - self._start),
            )

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        seconds = time.perf_counter() - self._start
        self._seconds.append(seconds)
        left = (self.epochs - self._epoch) * sum(self._seconds) / len(self._seconds)
        parts = [
            f"{self.what} {self._epoch}/{self.epochs}",
            self.describe(self._epoch, logs or {}),
            minutes_and_seconds(seconds),
        ]
        if left:
            parts.append(f"about {minutes_and_seconds(left)} left")
        logger.info(" · ".join(p for p in parts if p))
