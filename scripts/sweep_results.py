"""A finished `kedro sweep` as a results file and a figure, for benchmarks/README.md.

    python scripts/sweep_results.py --sweep clipped --env clipped \
        --out benchmarks/results/sweep_clipped.json --figure docs/images/sweep_clipped.png \
        --machine "2-core x86-64 CPU, no GPU" --wall-s 3100 --peak-rss-gb 1.1

Reads the newest sweep parent run named ``--sweep`` in the project's MLflow store (the
experiment mlflow.yml names): its spec (``sweep.yml``) and ``trials.csv``, the table the driver
logged. Writes one row per trial attempt (its swept values, status, final FID, best per-epoch
judged FID, epochs trained, seconds) and, with ``--figure``, the driver's ``sweep.png`` drawn
again from the same table. ``--wall-s`` and ``--peak-rss-gb`` are what ``/usr/bin/time -v``
said of the ``kedro sweep`` command; without ``--wall-s`` the parent run's duration is used.
scripts/write_tables.py turns the file into the table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import yaml
from project import ROOT, tracking

from wgan_pipeline.sweep.driver import sweep_figure
from wgan_pipeline.sweep.spec import parse_spec
from wgan_pipeline.sweep.trial import PARENT_TAG


def parent_run(client, experiment: str, name: str):
    runs = client.search_runs(
        [experiment],
        f"tags.`mlflow.runName` = '{name}' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
    )
    parents = [run for run in runs if PARENT_TAG not in run.data.tags]
    if not parents:
        raise SystemExit(f"No finished sweep named {name!r}: run `kedro sweep` first.")
    return parents[0]


def epochs_trained(client, run_id: str) -> int:
    return len(client.get_metric_history(run_id, "epoch_seconds"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sweep", required=True, help="the sweep's name (sweep.name)")
    parser.add_argument("--env", default=None, help="the Kedro env the sweep ran in")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--figure", type=Path)
    parser.add_argument("--machine", required=True)
    parser.add_argument("--wall-s", type=float)
    parser.add_argument("--peak-rss-gb", type=float)
    args = parser.parse_args()

    client, experiment = tracking(args.env)
    parent = parent_run(client, experiment, args.sweep)
    with tempfile.TemporaryDirectory() as tmp:
        spec = parse_spec(
            yaml.safe_load(
                Path(client.download_artifacts(parent.info.run_id, "sweep.yml", tmp)).read_text()
            )["sweep"]  # fmt: skip
        )
        table = pd.read_csv(client.download_artifacts(parent.info.run_id, "trials.csv", tmp))
    if args.figure:
        sweep_figure(table, spec).savefig(args.figure, dpi=80)
    last = f"last {spec.epoch_metric}"

    def value(x):
        return None if pd.isna(x) else (round(x, 6) if isinstance(x, float) else x)

    trials = [
        {
            "trial": row["trial"][:8],
            "status": row["status"],
            **{key.split(".", 1)[1]: value(row[key]) for key in spec.search_space},
            "fid": value(round(row[spec.metric], 2)) if pd.notna(row[spec.metric]) else None,
            "best_judged_fid": value(round(row[last], 2)) if last in row else None,
            "epochs": epochs_trained(client, row["run_id"]),
            "seconds": float(row["seconds"]),
        }
        for _, row in table.iterrows()
    ]
    info = parent.info
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                            capture_output=True, check=False).stdout.strip()  # fmt: skip
    fixed = ",".join(f"{k}={v}" for k, v in spec.params.items())
    results = {
        "command": f"kedro sweep{f' --env {args.env}' if args.env else ''}",
        "setup": (
            f"{spec.num_trials} trials, {spec.max_concurrent} at once, "
            f"{spec.resources.cpus} CPU each, every trial `--params {fixed}`; "
            f"{spec.scheduler.type.upper()} on {spec.epoch_metric} (grace period "
            f"{spec.scheduler.grace_period} epoch, reduction factor "
            f"{spec.scheduler.reduction_factor}); Optuna TPE, seed {spec.seed}"
        ),
        "keys": [key.split(".", 1)[1] for key in spec.search_space],
        "machine": args.machine,
        "date": datetime.date.today().isoformat(),
        "recorded_in_commit": commit,
        "parent_run_id": info.run_id,
        "wall_s": args.wall_s or round((info.end_time - info.start_time) / 1000),
        "driver_peak_rss_gb": args.peak_rss_gb,
        "trials": trials,
    }
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
