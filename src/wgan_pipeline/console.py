"""How the console (and a run's MLflow description) says durations, figures and a run's result;
no Keras here: the hooks use it too."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wgan_pipeline.gan.metrics import targets_met


def minutes_and_seconds(seconds: float) -> str:
    """``95`` -> ``1 min 35 s``; under a minute ``42 s``."""
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def three_digits(value: float) -> str:
    """A figure to 3 significant digits, as the console prints FIDs (``34.1``, ``253``)."""
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def result_lines(
    metrics,
    kept: Mapping[str, Any] | None,
    targets: Mapping[str, float] | None,
    judge: str | None = None,
) -> list[str]:
    """What a run gave, in two sentences: the kept generator (``kept``: its epoch and source)
    and its FID against the floor (the evaluation's table ``metrics``: rows generated, real),
    under which judge; and which quality ``targets`` it meets."""
    rows = metrics.set_index("set")
    generated, floor = rows.loc["generated"], float(rows.loc["real", "fid"])
    which = "the saved generator"
    if kept is not None:
        average = " (moving average)" if kept.get("source") == "ema" else ""
        which = f"epoch {int(kept['epoch'])}{average}"
    lines = [
        f"Kept {which}: FID {three_digits(float(generated['fid']))} on "
        f"{int(generated['images']):,} samples{f' by judge {judge}' if judge else ''} (real test "
        f"images: {three_digits(floor)}, the floor)."
    ]
    if targets is not None:
        met = targets_met(generated, floor, targets)
        verdicts = ", ".join(f"{name} {'yes' if ok else 'no'}" for name, ok in met.items())
        lines.append(f"Targets met: {sum(met.values())} of {len(met)} ({verdicts}).")
    return lines
