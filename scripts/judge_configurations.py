"""README's "What the configurations give": the kept generators of several runs, judged together.

    python scripts/judge_configurations.py --run chapter=<run id> --run best=<run id>
    python scripts/judge_configurations.py ... --grids docs/images   # each one's 64 digits too
    python scripts/judge_configurations.py ... --curve docs/images/fid_against_time.png
    python scripts/judge_configurations.py ... --out benchmarks/results/configurations.json \
        --machine "2-core x86-64 CPU, no GPU"   # the results file the docs' tables are written from
    python scripts/judge_configurations.py ... --judge other/judge.keras   # by another judge

Every generator is judged in this one process by the same classifier (the catalog's
``classifier``, its latest version) on the same ``evaluation.n_samples`` noise vectors of its
own noise kind, with the k and the splits of ``params:evaluation`` (conf/), against the same test images, beside the real-image floor and the noise ceiling, as the
evaluation pipeline judges one. The generators are the ones each run logged to MLflow (the
release pipeline's ``generator``: the kept one); the training's architecture, epochs, kept epoch
and minutes come from the run. Logs one MLflow run ``configurations`` with every row's metrics
(``<label>.fid``, ...) and the table as ``configurations.md``, and prints the table. ``--curve``
draws each run's FID judged during training (2,000 images; the better of ``judge.fid`` and
``judge_ema.fid``) against its cumulative training minutes, on one log-scaled axis. ``--out``
writes the rows, the floor, the ceiling, the judge and each run's command and per-epoch curve as
a results file (scripts/write_tables.py turns it into a table).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
from pathlib import Path

import keras
import mlflow
import numpy as np
from PIL import Image
from project import ROOT, config, evaluation_params, logged_models, tracking
from write_tables import targets_met

from wgan_pipeline.datasets.mlflow_generator import load_pyfunc
from wgan_pipeline.gan.images import image_grid
from wgan_pipeline.gan.judge import Judge, classifier_identity
from wgan_pipeline.params import trained_on

SEED = 0  # the noise every generator is judged on, and the ceiling's pixel noise
# the four quality targets, as parameters_evaluation.yml defines them (whole numbers as ints, so
# the tables say "3×", not "3.0×")
TARGETS = {k: int(v) if float(v).is_integer() else v
           for k, v in evaluation_params().targets.model_dump().items()}  # fmt: skip


def kept_generator(run) -> object:
    """The Keras generator the run logged as ``generator`` (its kept one)."""
    (model,) = [m for m in logged_models(run) if m.name == "generator"]
    return load_pyfunc(f"models:/{model.model_id}").unwrap_python_model().generator


def targets(m: dict, floor: float) -> list[str]:
    """The four targets (``TARGETS``) of a judge's metrics, checked as the docs' tables check
    them; a check or a cross each."""
    named = {**m, "rarest_share": m["rarest_class_share"],
             "commonest_share": m["commonest_class_share"]}  # fmt: skip
    return ["yes" if ok else "no" for ok in targets_met(named, floor, TARGETS)]


def row(label: str, about: dict, m: dict, floor: float | None) -> str:
    met = targets(m, floor) if floor else [""] * 4
    return (
        f"| {label} | {about.get('architecture', '')} | {about.get('epochs', '')} "
        f"| {about.get('trained', '')} | {m['fid']:.1f} | {m['mnist_score']:.2f} "
        f"| {100 * m['rarest_class_share']:.1f}% / {100 * m['commonest_class_share']:.1f}% "
        f"| {m['precision']:.2f} | {m['recall']:.2f} | {m['density']:.2f} | {m['coverage']:.2f} "
        f"| {' | '.join(met)} |"
    )


def describe(client: mlflow.MlflowClient, run) -> dict:
    params, tags = run.data.params, run.data.tags
    seconds = sum(p.value for p in client.get_metric_history(run.info.run_id, "epoch_seconds"))
    best = run.data.metrics.get("best_epoch")
    epochs = params["training.epochs"] + (f" (kept {int(best)})" if best else "")
    return {
        "architecture": params.get("training.architecture", "chapter"),
        "epochs": epochs,
        "trained": tags.get("trained_on", "2-core CPU")
        + (f", {seconds / 60:.0f} min" if seconds else ""),
        "seconds": seconds,
        "latent_dim": int(params["training.latent_dim"]),
        "noise": params["training.noise"],
    }


def curve(client: mlflow.MlflowClient, run_id: str) -> dict:
    """The run's judged FIDs (raw and moving average, 2,000 images) by cumulative training
    minutes at the end of each epoch."""

    def history(key: str) -> dict[int, float]:
        return {m.step: m.value for m in client.get_metric_history(run_id, key)}

    seconds, raw, ema = history("epoch_seconds"), history("judge.fid"), history("judge_ema.fid")
    minutes = dict(zip(sorted(seconds), np.cumsum([seconds[e] for e in sorted(seconds)]) / 60))
    epochs = sorted(set(minutes) & set(raw))
    return {"epoch": epochs, "minutes": [round(float(minutes[e]), 2) for e in epochs],
            "fid": [round(raw[e], 2) for e in epochs],
            "fid_ema": [round(ema[e], 2) if e in ema else None for e in epochs]}  # fmt: skip


def command(run) -> str:
    """The `kedro run` that made ``run``: its ``kedro_command`` tag, which names the env and
    ``--params`` (hooks/run_tags.py); for a run tagged before that (kedro-mlflow's tag alone, no
    ``kedro_session_id``), that tag with the env, and as ``--params`` every training key whose
    logged value differs from its env's."""
    tags = run.data.tags
    if "kedro_session_id" in tags:
        return tags["kedro_command"]
    env = tags.get("kedro_env", "local")
    text = tags.get("kedro_command", "kedro run").replace("--pipeline=__default__", "").strip()
    text = text.replace("--pipeline=", "--pipelines ")
    if env != "local":
        text = text.replace("kedro run", f"kedro run --env {env}", 1)
    configured = config(None if env == "local" else env)["parameters"]["training"]
    base = config()["parameters"]["training"]  # a key newer than the run: it ran as base's
    changed = [
        f"training.{key}={logged}"
        for key, value in configured.items()
        if not same_value(logged := run.data.params.get(f"training.{key}", str(base[key])), value)
    ]
    return text + (f" --params {','.join(changed)}" if changed else "")


def same_value(logged: str, configured) -> bool:
    """Whether MLflow's text of a parameter is the configured value (5.0e-4 is logged 0.0005)."""
    try:
        return float(logged) == float(configured)
    except (TypeError, ValueError):
        return logged == str(configured)


def shares(m: dict) -> dict:
    keys = ("mnist_score", "precision", "recall", "density", "coverage")
    return {"fid": round(m["fid"], 1), **{k: round(m[k], 2) for k in keys},
            "rarest_share": round(m["rarest_class_share"], 3),
            "commonest_share": round(m["commonest_class_share"], 3)}  # fmt: skip


def head_commit() -> str:
    """The short hash of the commit checked out: a results file's ``recorded_in_commit``."""
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                          capture_output=True, check=False).stdout.strip()  # fmt: skip


def results_file(rows, real, ceiling, runs, client, classifier, machine) -> dict:
    labels = " ".join(f"--run {label}=<run id>" for label, _, _ in rows)
    return {
        "command": f"python scripts/judge_configurations.py {labels}",
        "machine": machine,
        "judged": "each run's kept generator on 10,000 samples, all by one MNIST classifier",
        "judge": {"hash": classifier_identity(classifier)},
        "date": datetime.date.today().isoformat(),
        "recorded_in_commit": head_commit(),
        "targets": TARGETS,
        "runs": [
            {
                "name": label,
                "command": command(run),
                "architecture": about["architecture"],
                "epochs": about["epochs"],
                "training_min": round(about["seconds"] / 60),
                **shares(m),
                "curve": curve(client, run.info.run_id),
            }  # fmt: skip
            for (label, about, m), run in zip(rows, runs, strict=True)
        ],
        "floor": {"name": "real test images (floor)", **shares(real)},
        "ceiling": {"name": "uniform noise (ceiling)", **shares(ceiling)},
    }


def fid_curve(client: mlflow.MlflowClient, runs: list[tuple[str, str]], path: Path) -> None:
    """Each run's judged FID per epoch (the better of its raw and moving-average generator, the
    one a run would keep) against the training minutes it had taken by then."""
    import matplotlib  # noqa: PLC0415
    import matplotlib.ticker  # noqa: PLC0415

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt  # noqa: PLC0415

    figure, axis = plt.subplots(figsize=(7, 4))
    for label, run_id in runs:
        points = curve(client, run_id)
        fids = [min(f for f in pair if f is not None)
                for pair in zip(points["fid"], points["fid_ema"], strict=True)]  # fmt: skip
        axis.plot(points["minutes"], fids, marker=".", label=label)
    axis.set_yscale("log")
    axis.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())  # 20, not 2x10^1
    axis.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axis.set_yticks(
        [t for t in (2, 5, 10, 20, 50, 100, 200) if axis.get_ylim()[0] <= t <= axis.get_ylim()[1]]
    )
    axis.set_xlabel("training minutes (2-core CPU)")
    axis.set_ylabel("FID judged during training (2,000 images)")
    axis.grid(alpha=0.3, which="both")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def make_judge(classifier, test_images, latent_dim: int, noise: str) -> Judge:
    """A judge of generators taking ``latent_dim`` noise of kind ``noise``, on seed 0's
    ``evaluation.n_samples`` vectors with the evaluation's batch, k and splits."""
    params = evaluation_params()
    return Judge(
        classifier,
        test_images,
        n=params.n_samples,
        latent_dim=latent_dim,
        noise=noise,
        seed=SEED,
        batch_size=params.batch_size,
        k_precision_recall=params.k_precision_recall,
        k_density_coverage=params.k_density_coverage,
        score_splits=params.score_splits,
    )


def judge_inputs(judge=None) -> tuple:
    """The catalog's classifier (the judge), or ``judge`` where given, and the raw images,
    through a Kedro session."""
    os.chdir(ROOT)
    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    bootstrap_project(ROOT)
    with KedroSession.create(project_path=ROOT) as session:
        context = session.load_context()
        if judge is None:
            return context.catalog.load("classifier"), context.catalog.load("raw_images")
        dataset = context.params["data"].dataset
        other = trained_on(judge.name)
        if other not in (None, dataset):
            raise SystemExit(f"--judge: '{judge.name}' was trained on {other}, but the runs are "
                             f"judged on {dataset}: pass a {dataset} judge.")  # fmt: skip
        return judge, context.catalog.load("raw_images")


def load_judge(path: Path):
    """The judge saved at ``path``, or SystemExit naming what is wrong with the file."""
    if not path.is_file():
        raise SystemExit(f"--judge {path}: no such file. Pass a judge.keras that `kedro run "
                         "--pipelines classifier` wrote (data/06_models/<dataset>/judge.keras).")  # fmt: skip
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except (ValueError, OSError) as error:
        raise SystemExit(f"--judge {path} is not a saved Keras model ({error}). Pass a "
                         "judge.keras that `kedro run --pipelines classifier` wrote.") from None  # fmt: skip


def judge_runs(client, items: list[str], classifier, test_images, grids: Path | None):
    """Each ``label=run_id``'s kept generator judged on the same noise by one classifier (one
    Judge per latent size and noise kind); its 64 digits in ``grids``. The rows, the metrics
    for MLflow, the runs and a judge (for the references)."""
    judges: dict[tuple, Judge] = {}
    rows, metrics, runs = [], {}, []
    for item in items:
        label, _, run_id = item.partition("=")
        run = client.get_run(run_id)
        runs.append(run)
        about = describe(client, run)
        key = (about["latent_dim"], about["noise"])
        if key not in judges:
            judges[key] = make_judge(classifier, test_images, *key)
        generator = kept_generator(run)
        m = judges[key](generator)
        rows.append((label, about, m))
        metrics.update({f"{label}.{k}": v for k, v in m.items() if not k.startswith("share_")})
        if grids:
            digits = judges[key].images(generator)[:64]
            grid = Image.fromarray(image_grid(digits, rows=8))
            grid.resize((grid.width * 2, grid.height * 2), Image.NEAREST).save(
                grids / f"configuration_{label}.png"
            )
    return rows, metrics, runs, next(iter(judges.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="append", required=True, metavar="LABEL=RUN_ID")
    parser.add_argument("--grids", type=Path, help="write each generator's 64 digits here")
    parser.add_argument("--curve", type=Path, help="draw FID against training minutes here")
    parser.add_argument("--out", type=Path, help="write the results file here")
    parser.add_argument(
        "--judge",
        type=Path,
        help="judge with this saved judge (a judge.keras, e.g. one trained on another "
        "machine), not the catalog's",
    )
    parser.add_argument(
        "--machine",
        default="2-core x86-64 CPU, no GPU",
        help="the machine the runs trained on, for the results file",
    )
    args = parser.parse_args()
    classifier, raw = judge_inputs(load_judge(args.judge) if args.judge else None)
    client, _ = tracking()
    n = evaluation_params().n_samples
    rows, metrics, runs, judge = judge_runs(client, args.run, classifier, raw["x_test"], args.grids)
    # the evaluation's references: the first n training images, uniform pixel noise
    real = judge.score(raw["x_train"][:n])
    ceiling = judge.score(np.random.default_rng(SEED).integers(0, 256, (n, 28, 28), np.uint8))
    header = ("| configuration | architecture | epochs | trained | FID | MNIST score | rarest / "
              "commonest digit | precision | recall | density | coverage | FID ≤ "
              f"{TARGETS['fid_times_floor']}× floor | every digit "
              f"{TARGETS['class_share_low']:.0%}–{TARGETS['class_share_high']:.0%} | precision ≥ "
              f"{TARGETS['precision']} | recall ≥ {TARGETS['recall']} |")  # fmt: skip
    lines = [header, "|" + " --- |" * (header.count("|") - 1)]
    lines += [row(label, about, m, real["fid"]) for label, about, m in rows]
    lines += [row("real test images (floor)", {}, real, None),
              row("uniform noise (ceiling)", {}, ceiling, None)]  # fmt: skip
    table = "\n".join(lines)
    with mlflow.start_run(run_name="configurations"):
        mlflow.log_params({f"{label}.run_id": run_id for label, _, run_id in
                           (i.partition("=") for i in args.run)})  # fmt: skip
        mlflow.set_tags({"judge": classifier_identity(classifier), "judged_images": n})
        mlflow.log_metrics({**metrics, "real.fid": real["fid"], "noise.fid": ceiling["fid"]})
        mlflow.log_text(table, "configurations.md")
    print(table)
    if args.out:
        found = results_file(rows, real, ceiling, runs, client, classifier, args.machine)
        args.out.write_text(json.dumps(found, indent=1) + "\n")
    if args.curve:
        fid_curve(client, [i.partition("=")[::2] for i in args.run], args.curve)


if __name__ == "__main__":
    main()
