"""Compare the training configurations from their MLflow runs: README's table and final grids.

    python scripts/compare_configs.py            # prints the Markdown table
    python scripts/compare_configs.py --images docs/images   # also copies each run's sample grid
    python scripts/compare_configs.py --dataset fashion_mnist  # the same for Fashion-MNIST runs

Per data set (the run's ``dataset`` tag; MNIST for runs older than it), configuration (the run's
``kedro_env`` tag: ``local`` and ``fashion`` are the chapter's settings, ``paper``, ``gp``) and
number of epochs it takes the latest FINISHED training run that has evaluation
metrics, from the project's MLflow store and experiment (mlflow.yml), and reports the
generated digits' metrics beside the real-data floor and the noise ceiling of the same run, and
which quality targets (``evaluation.targets`` in conf/base) it misses. The grids copied are
those of each configuration's longest run.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import mlflow
from project import evaluation_params, finished_runs, tracking

from wgan_pipeline.gan.metrics import targets_met

CONFIGS = {"local": "chapter", "fashion": "chapter", "paper": "paper", "gp": "gp"}
ENV_DATASET = {"fashion": "fashion_mnist"}  # the data set an env sets; the others: MNIST


def latest_runs(dataset: str = "mnist") -> dict[tuple[str, int], mlflow.entities.Run]:
    latest = {}
    for run in finished_runs():
        env, metrics = run.data.tags.get("kedro_env"), run.data.metrics
        if env not in CONFIGS or not {"eval.generated.fid", "critic_loss"} <= set(metrics):
            continue
        if run.data.tags.get("dataset", "mnist") != dataset:
            continue
        latest.setdefault((env, int(run.data.params["training.epochs"])), run)
    order = list(CONFIGS)
    return dict(sorted(latest.items(), key=lambda item: (order.index(item[0][0]), item[0][1])))


def command(env: str, run: mlflow.entities.Run) -> str:
    """The command that made the run, from its environment, pipeline and epochs (kedro-mlflow's
    own ``kedro_command`` tag leaves out --env and --params)."""
    parts = ["kedro run"]
    if env != "local":
        parts.append(f"--env {env}")
    if "gan" in run.data.tags.get("pipeline_names", ""):
        parts.append("--pipelines gan")
    params = []
    dataset = run.data.tags.get("dataset", "mnist")
    if dataset != ENV_DATASET.get(env, "mnist"):
        params.append(f"data.dataset={dataset}")
    epochs = run.data.params["training.epochs"]
    if epochs != "30":  # the default
        params.append(f"training.epochs={epochs}")
    if params:
        parts.append("--params " + ",".join(params))
    return " ".join(parts)


def targets(m: dict[str, float], quality: dict[str, float]) -> str:
    """The quality targets ``quality`` a run's metrics miss (``all`` where it meets them), as
    the run's console checks them."""
    generated = {k.removeprefix("eval.generated."): v for k, v in m.items()}
    met = targets_met(generated, m["eval.real.fid"], quality)
    missed = [name for name, ok in met.items() if not ok]
    return "all" if not missed else "misses " + ", ".join(missed)


def table(client: mlflow.MlflowClient, runs: dict[str, mlflow.entities.Run], dataset: str) -> str:
    score, unit = ("MNIST score", "digit") if dataset == "mnist" else ("classifier score", "class")
    header = (f"| config | command | training min | FID (floor / ceiling) | {score} | rarest / "
              f"commonest {unit} | precision | recall | density | coverage | targets |")  # fmt: skip
    lines = [header, "|" + " --- |" * (header.count("|") - 1)]
    quality = evaluation_params().targets.model_dump()
    for (env, _), run in runs.items():
        m = run.data.metrics
        seconds = sum(p.value for p in client.get_metric_history(run.info.run_id, "epoch_seconds"))
        lines.append(
            f"| {CONFIGS[env]} | `{command(env, run)}` | {seconds / 60:.0f} "
            f"| **{m['eval.generated.fid']:.1f}** ({m['eval.real.fid']:.2f} / "
            f"{m['eval.noise.fid']:.0f}) | {m['eval.generated.mnist_score']:.2f} "
            f"| {100 * m['eval.generated.rarest_class_share']:.1f}% / "
            f"{100 * m['eval.generated.commonest_class_share']:.1f}% "
            f"| {m['eval.generated.precision']:.2f} | {m['eval.generated.recall']:.2f} "
            f"| {m['eval.generated.density']:.2f} | {m['eval.generated.coverage']:.2f} "
            f"| {targets(m, quality)} |"
        )
    reference = next(iter(runs.values())).data.metrics  # the same judge in every run
    for name, label in (("real", "real images (floor)"), ("noise", "uniform noise (ceiling)")):
        m = {k.replace(f"eval.{name}.", ""): v for k, v in reference.items()}
        lines.append(
            f"| {label} | | | {m['fid']:.2f} | {m['mnist_score']:.2f} "
            f"| {100 * m['rarest_class_share']:.1f}% / {100 * m['commonest_class_share']:.1f}% "
            f"| {m['precision']:.2f} | {m['recall']:.2f} | {m['density']:.2f} "
            f"| {m['coverage']:.2f} | |"
        )
    return "\n".join(lines)


def copy_grids(client: mlflow.MlflowClient, runs: dict, folder: Path, dataset: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    longest = {env: run for (env, _), run in runs.items()}  # sorted by epochs: the last wins
    with tempfile.TemporaryDirectory() as tmp:
        for env, run in longest.items():
            path = client.download_artifacts(run.info.run_id, "sample_grid.png", tmp)
            suffix = "" if dataset == "mnist" else f"_{dataset}"
            shutil.copy(path, folder / f"grid_{CONFIGS[env]}{suffix}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, help="copy each run's sample grid here")
    parser.add_argument("--dataset", default="mnist", choices=["mnist", "fashion_mnist"])
    args = parser.parse_args()
    client, _ = tracking()
    runs = latest_runs(args.dataset)
    if not runs:
        raise SystemExit("No finished run with evaluation metrics yet: run `kedro run` first.")
    print(table(client, runs, args.dataset))
    if args.images:
        copy_grids(client, runs, args.images, args.dataset)


if __name__ == "__main__":
    main()
