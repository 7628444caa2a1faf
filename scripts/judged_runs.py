"""What judging during training cost and gave, from MLflow: per run, the judge's seconds per
epoch against the epoch's training seconds, the raw and the EMA generator's FID at their best
and at the last epoch, and the epoch that was kept.

    python scripts/judged_runs.py                    # the latest finished judged run of each env
    python scripts/judged_runs.py --run-id <id> --curve docs/images/judge_curve.png

Reads the project's MLflow store and experiment (mlflow.yml); ``--curve`` copies the
run's ``judge_curve.png``; ``--grids DIR`` draws 64 digits from the same noise with the run's
kept and last generators (``generator_<env>.png``, ``generator_last_<env>.png``).
Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import mlflow
from PIL import Image
from project import finished_runs, logged_models, tracking

from wgan_pipeline.datasets.mlflow_generator import load_pyfunc
from wgan_pipeline.gan.images import image_grid, latent_noise


def judged_runs(client: mlflow.MlflowClient, run_id: str | None) -> list:
    if run_id:
        return [client.get_run(run_id)]
    runs = finished_runs("metrics.best_fid > 0")
    latest = {}
    for run in runs:
        latest.setdefault(run.data.tags.get("kedro_env", "local"), run)
    if not latest:
        raise SystemExit("No finished run judged while training (evaluation.every_epochs).")
    return list(latest.values())


def history(client, run_id: str, key: str) -> dict[int, float]:
    return {m.step: m.value for m in client.get_metric_history(run_id, key)}


def describe(client, run) -> dict:
    run_id = run.info.run_id
    epochs = history(client, run_id, "epoch_seconds")
    raw, ema = history(client, run_id, "judge.fid"), history(client, run_id, "judge_ema.fid")
    seconds = history(client, run_id, "judge.seconds")
    ema_seconds = history(client, run_id, "judge_ema.seconds")
    judged = sorted(seconds)
    cost = [seconds[e] + ema_seconds.get(e, 0.0) for e in judged]
    mean_epoch = sum(epochs[e] for e in judged) / len(judged)
    return {
        "run": run_id[:8],
        "env": run.data.tags.get("kedro_env", "local"),
        "epochs": max(epochs),
        "epoch s": mean_epoch,
        "judge s (raw)": sum(seconds.values()) / len(seconds),
        "judge s (all)": sum(cost) / len(cost),
        "share": sum(cost) / sum(epochs[e] for e in judged),
        "raw best": min(raw.items(), key=lambda kv: kv[1]) if raw else None,
        "raw last": raw.get(max(raw)) if raw else None,
        "ema best": min(ema.items(), key=lambda kv: kv[1]) if ema else None,
        "ema last": ema.get(max(ema)) if ema else None,
        "kept": run.data.tags.get("best_generator"),
        "final fid": run.data.metrics.get("eval.generated.fid"),
    }


def markdown(rows: list[dict]) -> str:
    def best(value):
        return "" if value is None else f"{value[1]:.1f} (epoch {value[0]})"

    lines = [
        "| env | epochs | epoch s | judging s per epoch (raw / raw+EMA) | share of the epoch "
        "| raw FID best / last | EMA FID best / last | kept | final FID (kept, 10,000) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        ema = "" if r["ema best"] is None else f"{best(r['ema best'])} / {r['ema last']:.1f}"
        lines.append(
            f"| {r['env']} | {r['epochs']} | {r['epoch s']:.1f} | {r['judge s (raw)']:.2f} / "
            f"{r['judge s (all)']:.2f} | {100 * r['share']:.1f}% | {best(r['raw best'])} / "
            f"{r['raw last']:.1f} | {ema} | {r['kept']} | {r['final fid']:.1f} |"
        )
    return "\n".join(lines)


def copy_artifacts(run, curve: Path | None, grids: Path | None) -> None:
    """The run's judge curve; the kept and the last generator's digits from the same 64 noise
    vectors (their logged MLflow models, as `mlflow models serve` would draw them)."""
    if curve:
        with tempfile.TemporaryDirectory() as tmp:
            path = mlflow.artifacts.download_artifacts(
                run_id=run.info.run_id, artifact_path="judge_curve.png", dst_path=tmp
            )
            shutil.copy(path, curve)
    if grids:
        models = logged_models(run)
        noise = latent_noise(64, int(run.data.params["training.latent_dim"]),
                             run.data.params["training.noise"], seed=0)  # fmt: skip
        env = run.data.tags.get("kedro_env", "local")
        for model in models:
            digits = load_pyfunc(f"models:/{model.model_id}").predict(noise)
            grid = Image.fromarray(image_grid(digits, rows=8))
            grid = grid.resize((grid.width * 2, grid.height * 2), Image.NEAREST)
            grid.save(grids / f"{model.name}_{env}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-id")
    parser.add_argument("--curve", type=Path, help="copy the run's judge_curve.png here")
    parser.add_argument("--grids", type=Path, help="draw its kept and last generators' digits here")
    args = parser.parse_args()
    client, _ = tracking()
    runs = judged_runs(client, args.run_id)
    print(markdown([describe(client, run) for run in runs]))
    if args.curve or args.grids:
        copy_artifacts(runs[0], args.curve, args.grids)


if __name__ == "__main__":
    main()
