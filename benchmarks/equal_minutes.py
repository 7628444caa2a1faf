"""Two or more finished `kedro run`s compared at equal training minutes, from what each logged to
MLflow: the judged FID after every epoch (2,000 images, the better of the raw generator and its
moving average) against the training minutes it had taken, the four quality targets of the
last judging at or before each ``--minutes`` mark (of a run that ended earlier: its last, said
so), and the run's final evaluation (its kept generator on ``evaluation.n_samples`` images).

    python benchmarks/equal_minutes.py --run clipped=<run id> --run clipped+bn=<run id> \\
        --minutes 40 --minutes 60 --machine "2-core x86-64 CPU, no GPU" \\
        --out benchmarks/results/clipped_batchnorm.json --figure docs/images/clipped_batchnorm.png
    python benchmarks/equal_minutes.py --run clipped=<run id>@sqlite:////elsewhere/mlflow.db ...

An epoch's minutes are the run's median epoch (its ``epoch_seconds``, judging included): a run
that shared the machine for a while, or was paused, still sits where its own pace puts it.
The logged seconds of every epoch are kept in the results file beside them. Reads the
project's MLflow store (conf/'s mlflow.yml), as the scripts/ do, or, for a run written by another
clone of the project, the store named after its run id (``<run id>@<tracking URI>``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

import mlflow

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from project import evaluation_params, tracking  # noqa: E402

from wgan_pipeline.gan.metrics import targets_met  # noqa: E402

JUDGED = ("fid", "precision", "recall", "rarest_class_share", "commonest_class_share")


def history(client, run_id: str, key: str) -> dict[int, float]:
    return {m.step: m.value for m in client.get_metric_history(run_id, key)}


def describe(label: str, run_id: str, marks: list[float], targets: dict) -> dict:
    run_id, _, store = run_id.partition("@")
    client = mlflow.MlflowClient(store) if store else tracking()[0]
    try:
        run = client.get_run(run_id)
    except mlflow.exceptions.MlflowException as error:
        raise SystemExit(
            f"--run {label}: no run {run_id} in {store or 'the project store'} "
            f"({error.message.splitlines()[0]}). Pass a run id from `mlflow ui`, "
            "and <run id>@<tracking URI> for another store."
        ) from None
    if run.info.status != "FINISHED" or "eval.real.fid" not in run.data.metrics:
        raise SystemExit(
            f"--run {label}: run {run_id} has not finished its evaluation "
            f"(status {run.info.status}); compare finished `kedro run`s."
        )
    seconds = history(client, run_id, "epoch_seconds")
    epochs = sorted(seconds)
    pace = statistics.median(seconds.values()) / 60
    judged = {source: {k: history(client, run_id, f"{source}.{k}") for k in JUDGED}
              for source in ("judge", "judge_ema")}  # fmt: skip

    def judging(epoch: int) -> dict:
        """The epoch's better judging (raw or moving average), as a run would keep it."""
        rows = [{k: judged[prefix][k][epoch] for k in JUDGED} | {"source": source}
                for prefix, source in (("judge", "raw"), ("judge_ema", "ema"))
                if epoch in judged[prefix]["fid"]]  # fmt: skip
        return min(rows, key=lambda r: r["fid"])

    metrics = run.data.metrics
    floor = metrics["eval.real.fid"]
    curve = [{"epoch": e, "minutes": round(e * pace, 2), "logged_seconds": round(seconds[e], 1),
              **{k: round(v, 4) if isinstance(v, float) else v for k, v in judging(e).items()}}
             for e in epochs]  # fmt: skip
    at = {}
    for mark in marks:
        reached = [p for p in curve if p["minutes"] <= mark]
        if not reached:  # its first judging came after the mark
            at[f"{mark:g}"] = None
            continue
        point = reached[-1]
        at[f"{mark:g}"] = {"epoch": point["epoch"], "minutes": point["minutes"],
                           "fid": point["fid"], "targets": targets_met(point, floor, targets),
                           # the run ended more than an epoch before the mark: its last judging
                           "ended_before": epochs[-1] * pace < mark - pace}  # fmt: skip
    final = {k.removeprefix("eval.generated."): round(v, 4) for k, v in metrics.items()
             if k.startswith("eval.generated.")}  # fmt: skip
    return {
        "name": label,
        "run_id": run_id,
        "command": run.data.tags.get("kedro_command", ""),
        "normalization": run.data.params.get("training.normalization", "none"),
        "epochs": len(epochs),
        "minutes_per_epoch": round(pace, 2),
        "kept_epoch": int(metrics.get("best_epoch", epochs[-1])),
        "final": {
            **{k: final[k] for k in (*JUDGED, "images") if k in final},
            "targets": targets_met(final, floor, targets),
        },  # fmt: skip
        "floor_fid": round(floor, 3),
        "at_minutes": at,
        "curve": curve,
    }


def figure(runs: list[dict], path: Path) -> None:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt  # noqa: PLC0415

    fig, axis = plt.subplots(figsize=(7, 4))
    for run in runs:
        axis.plot([p["minutes"] for p in run["curve"]], [p["fid"] for p in run["curve"]],
                  marker=".", label=run["name"])  # fmt: skip
    axis.set_yscale("log")
    fids = [p["fid"] for run in runs for p in run["curve"]]
    axis.yaxis.set_major_locator(
        matplotlib.ticker.FixedLocator(
            [
                t
                for t in (5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200)
                if min(fids) <= t <= max(fids)
            ]
        )
    )
    axis.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())  # 20, not 2x10^1
    axis.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axis.set_xlabel("training minutes (each run's median epoch, judging included)")
    axis.set_ylabel("FID judged during training (2,000 images)")
    axis.grid(alpha=0.3, which="both")
    axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="append", required=True, help="LABEL=<MLflow run id>")
    parser.add_argument("--minutes", action="append", type=float, default=[])
    parser.add_argument("--machine", required=True, help="the machine, in words")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--figure", type=Path)
    args = parser.parse_args()
    targets = evaluation_params().targets.model_dump()
    for item in args.run:
        if "=" not in item:
            parser.error(f"--run {item}: write it LABEL=<run id>")
    runs = [describe(*item.split("=", 1), args.minutes, targets) for item in args.run]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                            capture_output=True, check=False).stdout.strip()  # fmt: skip
    labels = " ".join(f"--run {shlex.quote(r['name'] + '=<run id>')}" for r in runs)
    marks = " ".join(f"--minutes {m:g}" for m in args.minutes)
    results = {
        "command": f"python benchmarks/equal_minutes.py {labels} {marks}",
        "machine": args.machine,
        "date": datetime.date.today().isoformat(),
        "recorded_in_commit": commit,
        "targets": targets,
        "runs": runs,
    }
    print(json.dumps(results, indent=1, ensure_ascii=False))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    if args.figure:
        figure(runs, args.figure)


if __name__ == "__main__":
    main()
