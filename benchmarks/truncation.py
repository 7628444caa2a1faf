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
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from judge_configurations import (  # noqa: E402
    TARGETS,
    command,
    head_commit,
    judge_inputs,
    kept_generator,
    make_judge,
    shares,
)
from project import evaluation_params, tracking  # noqa: E402

from wgan_pipeline.gan.judge import classifier_identity  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, metavar="RUN_ID", help="an MLflow run id")
    parser.add_argument("--scale", type=float, nargs="+", default=[1.0, 0.9, 0.8, 0.7, 0.6, 0.5])
    parser.add_argument("--out", type=Path, help="write the results file here")
    parser.add_argument("--machine", default="2-core x86-64 CPU, no GPU")
    args = parser.parse_args()
    if any(not 0 < s <= 1 for s in args.scale):
        raise SystemExit(f"--scale: each must be in (0, 1], got {args.scale}")
    classifier, raw = judge_inputs()
    client, _ = tracking()
    run = client.get_run(args.run)
    generator = kept_generator(run)
    n = evaluation_params().n_samples
    judge = make_judge(classifier, raw["x_test"], int(run.data.params["training.latent_dim"]),
                       run.data.params["training.noise"])  # fmt: skip
    floor = judge.score(raw["x_train"][:n])["fid"]
    noise, rows = judge.noise, []
    for scale in args.scale:
        judge.noise = noise * scale
        rows.append({"scale": scale, **shares(judge(generator))})
        print(" ".join(f"{k} {v}" for k, v in rows[-1].items()), flush=True)
    if args.out:
        found = {
            "command": "python benchmarks/truncation.py --run <run id>",
            "run": {"id": args.run, "command": command(run)},
            "machine": args.machine,
            "judge": classifier_identity(classifier),
            "judged_images": n,
            "floor_fid": round(float(floor), 2),
            "targets": TARGETS,
            "date": datetime.date.today().isoformat(),
            "recorded_in_commit": head_commit(),
            "rows": rows,
        }
        args.out.write_text(json.dumps(found, indent=1) + "\n")


if __name__ == "__main__":
    main()
