"""What a sweep costs on top of the runs it makes: one trial against the same `kedro run` alone,
and the sweep's wall time at 1 and at 2 trials at once.

Run from a project with a trained classifier (`kedro run --env ENV --pipelines classifier`):

    python benchmarks/sweep.py --env test [--address HOST:PORT] [--out benchmarks/results/sweep.json]

It runs, one after the other:
1. `ray.init()` of a local cluster and `ray.shutdown()`, timed (what `kedro sweep` pays once);
2. `kedro run --env ENV --pipelines <spec's> --params <spec's fixed params>` alone, timed;
3. `kedro sweep --env ENV --max-concurrent 1`, then `--max-concurrent 2`, timed, with each
   trial's seconds from MLflow (the child run's start to end);
4. the overhead: the 1-at-once sweep's wall time less that many runs alone.

The env's mlflow.yml decides where runs go: a SQLite file, or an MLflow server (conf/cluster),
which is how "MLflow over HTTP" is measured: run it once per env and compare.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ENV = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=ENV, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{(done.stdout + done.stderr)[-4000:]}")
    return seconds


def ray_start_seconds() -> float:
    code = (
        "import time, ray\n"
        "t = time.perf_counter()\n"
        'ray.init(address="local", include_dashboard=False, log_to_driver=False)\n'
        "ray.shutdown()\n"
        "print(time.perf_counter() - t)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True,
                          check=True)  # fmt: skip
    return float(done.stdout.strip().splitlines()[-1])


def spec_and_tracking(env: str) -> tuple[dict, str, str]:
    """The env's sweep spec, tracking URI and experiment name, as `kedro sweep` reads them."""
    from kedro.config import OmegaConfigLoader  # noqa: PLC0415

    from wgan_pipeline import settings  # noqa: PLC0415

    loader = OmegaConfigLoader("conf", env=env, **settings.CONFIG_LOADER_ARGS)
    mlflow_conf = loader["mlflow"]
    return (loader["sweep"]["sweep"], mlflow_conf["server"]["mlflow_tracking_uri"],
            mlflow_conf["tracking"]["experiment"]["name"])  # fmt: skip


def last_sweep_trials(uri: str, experiment: str, name: str) -> list[float]:
    """Seconds of each child run of the newest parent run called ``name``."""
    import mlflow  # noqa: PLC0415

    client = mlflow.MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    (parent,) = client.search_runs([exp.experiment_id], f"attributes.run_name = '{name}'",
                                   order_by=["attributes.start_time DESC"], max_results=1)  # fmt: skip
    children = client.search_runs(
        [exp.experiment_id], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'"
    )
    return sorted(round((r.info.end_time - r.info.start_time) / 1000, 1) for r in children)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="test")
    parser.add_argument("--address", default=None, help="a Ray cluster to join (default: local)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/sweep.json"))
    args = parser.parse_args()
    spec, uri, experiment = spec_and_tracking(args.env)
    fixed = ",".join(f"{k}={v}" for k, v in spec.get("params", {}).items())
    kedro = [sys.executable, "-m", "kedro"]
    alone = [*kedro, "run", "--env", args.env, "--pipelines", spec["pipeline"]]
    result = {"env": args.env, "tracking_uri": uri, "cpus": os.cpu_count(),
              "ray_init_and_shutdown_s": round(ray_start_seconds(), 1),
              "kedro_run_alone_s": round(timed(alone + (["--params", fixed] if fixed else [])), 1)}  # fmt: skip
    address = ["--address", args.address] if args.address else []
    for concurrent in (1, 2):
        wall = timed([*kedro, "sweep", "--env", args.env, "--max-concurrent", str(concurrent),
                      *address])  # fmt: skip
        trials = last_sweep_trials(uri, experiment, spec["name"])
        result[f"sweep_{concurrent}_at_once"] = {"wall_s": round(wall, 1), "trial_s": trials}
    # What the sweep adds to running its trials one after the other by hand: Ray's start, the
    # driver's Kedro session, Tune's bookkeeping, a Ray worker per trial (the child run's own
    # seconds, start to end, leave out the process's start and exit: not comparable)
    one = result["sweep_1_at_once"]
    trials = len(one["trial_s"])
    result["sweep_overhead_s"] = round(one["wall_s"] - trials * result["kedro_run_alone_s"], 1)
    result["overhead_per_trial_s"] = round(result["sweep_overhead_s"] / trials, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
