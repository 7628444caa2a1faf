"""Truncated noise: one run's kept generator judged on noise of a smaller spread, the trade of
recall (and FID) for precision that BigGAN's truncation trick makes, measured on this judge.

    python benchmarks/truncation.py --run <run id> --out benchmarks/results/truncation.json

Judges the generator the run logged as ``generator`` (its kept one) as
scripts/judge_configurations.py does (the catalog's classifier, ``evaluation.n_samples`` images,
the k and splits of ``params:evaluation``, seed 0), once per ``--scale``: every noise vector
multiplied by it (1 is the noise it was trained on). The floor is the first n training images,
as there. Writes the rows, with the four quality targets, as a results file
(scripts/write_tables.py's ``truncation`` table).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from judge_configurations import SEED, command, kept_generator  # noqa: E402
from project import evaluation_params, tracking  # noqa: E402

from wgan_pipeline.gan.judge import Judge, classifier_identity  # noqa: E402

KEYS = ("fid", "precision", "recall", "rarest_class_share", "commonest_class_share")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, metavar="RUN_ID", help="an MLflow run id")
    parser.add_argument("--scale", type=float, nargs="+", default=[1.0, 0.9, 0.8, 0.7, 0.6, 0.5])
    parser.add_argument("--out", type=Path, help="write the results file here")
    parser.add_argument("--machine", default="2-core x86-64 CPU, no GPU")
    args = parser.parse_args()
    if any(not 0 < s <= 1 for s in args.scale):
        raise SystemExit(f"--scale: each must be in (0, 1], got {args.scale}")
    os.chdir(ROOT)
    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    bootstrap_project(ROOT)
    with KedroSession.create(project_path=ROOT) as session:
        catalog = session.load_context().catalog
        classifier, raw = catalog.load("classifier"), catalog.load("raw_images")
    client, _ = tracking()
    run = client.get_run(args.run)
    generator = kept_generator(run)
    p = evaluation_params()
    judge = Judge(
        classifier,
        raw["x_test"],
        n=p.n_samples,
        latent_dim=int(run.data.params["training.latent_dim"]),
        noise=run.data.params["training.noise"],
        seed=SEED,
        batch_size=p.batch_size,
        k_precision_recall=p.k_precision_recall,
        k_density_coverage=p.k_density_coverage,
        score_splits=p.score_splits,
    )
    floor = judge.score(raw["x_train"][: p.n_samples])["fid"]
    noise, rows = judge.noise, []
    for scale in args.scale:
        judge.noise = noise * scale
        m = judge(generator)
        rows.append({"scale": scale, **{k: round(float(m[k]), 3) for k in KEYS}})
        print(" ".join(f"{k} {v}" for k, v in rows[-1].items()), flush=True)
    if args.out:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                                capture_output=True, check=False).stdout.strip()  # fmt: skip
        found = {
            "command": "python benchmarks/truncation.py --run <run id>",
            "run": {"id": args.run, "command": command(run)},
            "machine": args.machine,
            "judge": classifier_identity(classifier),
            "judged_images": p.n_samples,
            "floor_fid": round(float(floor), 2),
            "date": datetime.date.today().isoformat(),
            "recorded_in_commit": commit,
            "rows": rows,
        }
        args.out.write_text(json.dumps(found, indent=1) + "\n")


if __name__ == "__main__":
    main()
