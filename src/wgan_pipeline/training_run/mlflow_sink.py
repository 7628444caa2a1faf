"""A training session's live records in the active MLflow run: the one place training talks to
MLflow. Without an active run (tests, notebooks) it does nothing, so training never depends
on it."""

from __future__ import annotations

import mlflow
import numpy as np

from wgan_pipeline.gan.images import image_grid
from wgan_pipeline.lifecycle import mark_killed

from . import checkpoints
from .session import Sink


class MlflowSink(Sink):
    """After every epoch: its metrics as metric histories (step = the 1-based epoch), its
    fixed-noise digits as a grid, twice (a step-indexed image ``samples``, which the UI's Chart
    view shows with a slider, runs side by side, and the file ``samples/epoch_NNN.png``), each
    judging as ``judge.<metric>`` (``judge_ema.<metric>`` for the moving average) and the kept
    one as ``best_fid``, ``best_epoch`` and the tag ``best_generator``."""

    def __init__(self, grid_rows: int):
        self.grid_rows = grid_rows

    def run_id(self) -> str | None:
        run = mlflow.active_run()
        return run.info.run_id if run is not None else None

    def resumed(self, progress: checkpoints.Progress) -> None:
        """The run that wrote the resumed checkpoint died with its process (a SIGKILL leaves it
        RUNNING): marked KILLED, and this run tagged with where it took over."""
        if self.run_id() is None or progress.run_id in (None, self.run_id()):
            return
        mark_killed(mlflow.MlflowClient(), progress.run_id, "was killed while it trained",
                    if_running=True)  # fmt: skip
        mlflow.set_tags({"resumed_from_run": progress.run_id,
                         "resumed_at_critic_step": progress.critic_step})  # fmt: skip

    def epoch(self, epoch: int, row: dict, samples: np.ndarray, judged: list, kept) -> None:
        if self.run_id() is None:
            return
        metrics = {k: v for k, v in row.items() if k != "epoch" and np.isfinite(v)}
        for judging in judged:
            prefix = "judge" if judging["source"] == "raw" else "judge_ema"
            metrics.update({f"{prefix}.{k}": float(v) for k, v in judging.items()
                            if k not in ("epoch", "source")})  # fmt: skip
        if judged:
            metrics.update(best_fid=kept["fid"], best_epoch=kept["epoch"])
            mlflow.set_tag("best_generator", f"epoch {kept['epoch']} ({kept['source']})")
        mlflow.log_metrics(metrics, step=epoch)
        grid = image_grid(samples, rows=self.grid_rows)
        # synchronous: MLflow's default for a keyed image is a background upload, which a kill
        # (or the run's end) could cut short
        mlflow.log_image(grid, key="samples", step=epoch, synchronous=True)
        mlflow.log_image(grid, artifact_file=f"samples/epoch_{epoch:03d}.png")

    def said(self, tag: str, message: str) -> None:
        if self.run_id() is not None:
            mlflow.set_tag(tag, message)
