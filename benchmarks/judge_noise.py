"""How much a judging during training moves by chance: one saved generator judged as training
judges it (``evaluation.judge_samples`` images, the saved judge, params:evaluation's k and
splits) on ``--seeds`` different noise seeds. The spread of its FID is what two epochs' FIDs
can differ by with nothing changed, and so how wide ``evaluation.keep_within`` should be.

    python benchmarks/judge_noise.py --version <generator version> --machine "2-core x86-64 CPU"

Reads data/06_models/mnist/ (the generator, its training record for its noise, the judge).
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from project import evaluation_params  # noqa: E402

from wgan_pipeline.gan.judge import Judge  # noqa: E402

MODELS = ROOT / "data" / "06_models" / "mnist"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", required=True, help="a version folder of generator.keras")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--machine", required=True, help="the machine, in words")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/judge_noise.json")
    args = parser.parse_args()
    evaluation = evaluation_params()
    generator = keras.saving.load_model(
        MODELS / "generator.keras" / args.version / "generator.keras", safe_mode=True
    )
    record = MODELS / "training_record.json" / args.version / "training_record.json"
    training = json.loads(record.read_text())["training"]
    classifier = keras.saving.load_model(MODELS / "judge.keras", safe_mode=True)
    card = json.loads((MODELS / "judge.json").read_text())
    with np.load(ROOT / "data" / "01_raw" / "mnist.npz") as raw:
        test = raw["x_test"]
    fids = []
    for seed in range(args.seeds):
        judge = Judge(classifier, test, n=evaluation.judge_samples,
                      latent_dim=training["latent_dim"], noise=training["noise"], seed=seed,
                      **evaluation.model_dump(include={"batch_size", "k_precision_recall",
                                                       "k_density_coverage", "score_splits"}))  # fmt: skip
        fids.append(round(float(judge(generator)["fid"]), 3))
        print(f"seed {seed}: FID {fids[-1]}", flush=True)
    mean, std = statistics.mean(fids), statistics.stdev(fids)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                            capture_output=True, check=False).stdout.strip()  # fmt: skip
    results = {
        "command": f"python benchmarks/judge_noise.py --version <generator version> --seeds {args.seeds}",
        "machine": args.machine,
        "date": datetime.date.today().isoformat(),
        "recorded_in_commit": commit,
        "judge": card["hash"],
        "generator": {"version": args.version, "training": training},
        "judge_samples": evaluation.judge_samples,
        "fids": fids,
        "mean": round(mean, 3),
        "std": round(std, 3),
        "relative_std": round(std / mean, 4),
        # two judgings of one generator differ by sqrt(2) std; twice that covers 95% of them
        "two_judgings_differ_95": round(2 * 2**0.5 * std / mean, 4),
    }
    print(json.dumps(results, indent=1))
    args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
