"""The few lines a run ends with: what it kept and how good it is, where its pictures are, and the
MLflow run that holds it all."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import mlflow
from kedro.framework.hooks import hook_impl

from wgan_pipeline.console import minutes_and_seconds, result_lines
from wgan_pipeline.hooks.output_paths import catalog_paths

logger = logging.getLogger("wgan_pipeline.summary")


class RunSummaryHook:
    """Remembers what the run saved that a person wants to hear of (the evaluation's table, the
    judgings, the judge's card) and, once the run has ended (``trylast``, after kedro-mlflow
    closed the MLflow run), logs a summary: the kept epoch and its FID under which judge, the
    four quality targets met or not, where the sample grid and the reports are, and the MLflow
    run's name with the URL that opens it."""

    def __init__(self) -> None:
        self._conf_catalog: dict[str, Any] = {}
        self._reset()

    def _reset(self) -> None:
        self._start = time.perf_counter()
        self._run_id: str | None = None
        self._saved: dict[str, Any] = {}

    @hook_impl
    def after_context_created(self, context) -> None:
        self._project = Path(context.project_path)
        self._ui = context.config_loader["mlflow"].get("ui") or {}

    @hook_impl
    def after_catalog_created(self, conf_catalog: dict[str, Any]) -> None:
        self._conf_catalog = conf_catalog

    @hook_impl(trylast=True)  # after kedro-mlflow started the run
    def before_pipeline_run(self, run_params, pipeline, catalog) -> None:
        self._reset()
        run = mlflow.active_run()
        self._run_id = run.info.run_id if run is not None else None
        self._evaluation = (
            catalog.load("params:evaluation") if catalog.exists("params:evaluation") else None
        )

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any) -> None:
        if dataset_name in ("evaluation_metrics", "judge_history", "judge_card"):
            self._saved[dataset_name] = data

    @hook_impl
    def after_dataset_loaded(self, dataset_name: str, data: Any) -> None:
        if dataset_name == "judge_card" and data is not None:
            self._saved.setdefault("judge_card", data)

    @hook_impl(trylast=True)
    def after_pipeline_run(self, run_params, pipeline, catalog) -> None:
        lines = [f"Done in {minutes_and_seconds(time.perf_counter() - self._start)}."]
        metrics = self._saved.get("evaluation_metrics")
        if metrics is not None:
            if "judge_card" not in self._saved and catalog.exists("judge_card"):
                self._saved["judge_card"] = catalog.load("judge_card")  # the saved judge's
            lines += self._quality(metrics)
        outputs = pipeline.all_outputs()
        pictures = [self._path(n) for n in ("sample_grid", "training_progress") if n in outputs]
        if any(pictures):
            grid, progress = pictures + [None] * (2 - len(pictures))
            lines.append(
                "Digits: "
                + ", every epoch's: ".join(str(p) for p in (grid, progress) if p)
                + (f"; reports in {grid.parent}/" if grid else "")
            )
        if self._run_id is not None:
            lines.append(self._mlflow_line(self._run_id))
        for line in lines:
            logger.info(line)
        self._reset()

    def _quality(self, metrics) -> list[str]:
        judged = self._saved.get("judge_history")
        kept = None
        if judged is not None and len(judged) and judged["kept"].astype(bool).any():
            kept = judged[judged["kept"].astype(bool)].iloc[0].to_dict()
        targets = self._evaluation.targets.model_dump() if self._evaluation is not None else None
        judge = (self._saved.get("judge_card") or {}).get("hash")
        return result_lines(metrics, kept, targets, judge)

    def _path(self, name: str) -> Path | None:
        paths = catalog_paths(self._conf_catalog.get(name))
        if not paths:
            return None
        path = paths[0][0]
        return path.relative_to(self._project) if path.is_relative_to(self._project) else path

    def _mlflow_line(self, run_id: str) -> str:
        run = mlflow.MlflowClient().get_run(run_id)
        uri = mlflow.get_tracking_uri()
        if uri.startswith(("http://", "https://")):
            base, how = uri.rstrip("/"), ""
        else:
            base = f"http://{self._ui.get('host', '127.0.0.1')}:{self._ui.get('port', '5000')}"
            how = " (start the UI with `kedro mlflow ui`)"
        url = f"{base}/#/experiments/{run.info.experiment_id}/runs/{run_id}"
        return f"MLflow run '{run.info.run_name}': {url}{how}"
