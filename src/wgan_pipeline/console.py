"""How the console writes figures and durations (no Keras here: the hooks use it too)."""

from __future__ import annotations


def minutes_and_seconds(seconds: float) -> str:
    """``95`` -> ``1 min 35 s``; under a minute ``42 s``."""
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def three_digits(value: float) -> str:
    """A figure to 3 significant digits, as the console prints FIDs (``34.1``, ``253``)."""
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
