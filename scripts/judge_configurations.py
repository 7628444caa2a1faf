"""README's "What the configurations give": the kept generators of several runs, judged together.

    python scripts/judge_configurations.py --run chapter=<run id> --run best=<run id>
    python scripts/judge_configurations.py ... --grids docs/images   # each one's 64 digits too
    python scripts/judge_configurations.py ... --curve docs/images/fid_against_time.png

Every generator is judged in this one process by the same classifier (the catalog's
``classifier``, its latest version) on the same ``evaluation.n_samples`` noise vectors of its
own noise kind, with the k and the splits of ``params:evaluation`` (conf/), against the same test images, beside the real-image floor and the noise ceiling, as the
evaluation pipeline judges one. The generators are the ones each run logged to MLflow (the
release pipeline's ``generator``: the kept one); the training's architecture, epochs, kept epoch
and minutes come from the run. Logs one MLflow run ``configurations`` with every row's metrics
(``<label>.fid``, ...) and the table as ``configurations.md``, and prints the table. ``--curve``
draws each run's FID judged during training (``judge.fid``, 2,000 images) against its
cumulative training minutes, on one log-scaled axis.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import mlflow
import numpy as np
from PIL import Image
from project import ROOT, evaluation_params, logged_models, tracking

from wgan_pipeline.gan.images import image_grid
from wgan_pipeline.gan.judge import Judge, classifier_identity

SEED = 0  # the noise every generator is judged on, and the ceiling's pixel noise


def kept_generator(run) -> object:
    """The Keras generator the run logged as ``generator`` (its kept one)."""
    (model,) = [m for m in logged_models(run) if m.name == "generator"]
    return mlflow.pyfunc.load_model(f"models:/{model.model_id}").unwrap_python_model().generator


def targets(m: dict, floor: float) -> list[str]:
    """The four targets: FID within 3x the floor, every digit 7-13%, precision >= 0.7,
    recall >= 0.5; a check or a cross each."""
    ok = [
        m["fid"] <= 3 * floor,
        m["rarest_class_share"] >= 0.07 and m["commonest_class_share"] <= 0.13,
        m["precision"] >= 0.7,
        m["recall"] >= 0.5,
    ]
    return ["yes" if o else "no" for o in ok]


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
        "latent_dim": int(params["training.latent_dim"]),
        "noise": params["training.noise"],
    }


def fid_curve(client: mlflow.MlflowClient, runs: list[tuple[str, str]], path: Path) -> None:
    """Each run's per-epoch judged FID against the training minutes it had taken by then."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt  # noqa: PLC0415

    figure, axis = plt.subplots(figsize=(7, 4))
    for label, run_id in runs:
        seconds = {m.step: m.value for m in client.get_metric_history(run_id, "epoch_seconds")}
        fid = {m.step: m.value for m in client.get_metric_history(run_id, "judge.fid")}
        epochs = sorted(set(seconds) & set(fid))
        minutes = np.cumsum([seconds[e] for e in sorted(seconds)]) / 60
        elapsed = dict(zip(sorted(seconds), minutes, strict=True))
        axis.plot([elapsed[e] for e in epochs], [fid[e] for e in epochs], marker=".", label=label)
    axis.set_yscale("log")
    axis.set_xlabel("training minutes (2-core CPU)")
    axis.set_ylabel("FID judged during training (2,000 images)")
    axis.grid(alpha=0.3, which="both")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="append", required=True, metavar="LABEL=RUN_ID")
    parser.add_argument("--grids", type=Path, help="write each generator's 64 digits here")
    parser.add_argument("--curve", type=Path, help="draw FID against training minutes here")
    args = parser.parse_args()
    os.chdir(ROOT)
    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    bootstrap_project(ROOT)
    with KedroSession.create(project_path=ROOT) as session:
        catalog = session.load_context().catalog
        classifier = catalog.load("classifier")
        raw = catalog.load("raw_images")
    test_images = raw["x_test"]
    params = evaluation_params()
    n = params.n_samples
    client, _ = tracking()
    judges: dict[tuple, Judge] = {}
    rows, metrics = [], {}
    for item in args.run:
        label, _, run_id = item.partition("=")
        run = client.get_run(run_id)
        about = describe(client, run)
        key = (about["latent_dim"], about["noise"])
        if key not in judges:
            judges[key] = Judge(
                classifier,
                test_images,
                n=n,
                latent_dim=key[0],
                noise=key[1],
                seed=SEED,
                batch_size=params.batch_size,
                k_precision_recall=params.k_precision_recall,
                k_density_coverage=params.k_density_coverage,
                score_splits=params.score_splits,
            )
        generator = kept_generator(run)
        m = judges[key](generator)
        rows.append((label, about, m))
        metrics.update({f"{label}.{k}": v for k, v in m.items() if not k.startswith("share_")})
        if args.grids:
            digits = judges[key].images(generator)[:64]
            grid = Image.fromarray(image_grid(digits, rows=8))
            grid.resize((grid.width * 2, grid.height * 2), Image.NEAREST).save(
                args.grids / f"configuration_{label}.png"
            )
    judge = next(iter(judges.values()))
    # the evaluation's references: the first n training images, uniform pixel noise
    real = judge.score(raw["x_train"][:n])
    ceiling = judge.score(np.random.default_rng(SEED).integers(0, 256, (n, 28, 28), np.uint8))
    header = ("| configuration | architecture | epochs | trained | FID | MNIST score | rarest / "
              "commonest digit | precision | recall | density | coverage | FID ≤ 3× floor "
              "| every digit 7–13% | precision ≥ 0.7 | recall ≥ 0.5 |")  # fmt: skip
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
    if args.curve:
        fid_curve(client, [i.partition("=")[::2] for i in args.run], args.curve)


if __name__ == "__main__":
    main()
