"""FID per epoch and per second of training for several configurations, judged by the data
set's saved judge: time to quality, measured where training is fast (a GPU), with Keras on JAX.

    KERAS_BACKEND=jax python benchmarks/judged_epochs.py --epochs 25 \\
        --run "best=--env best" \\
        --run "clip=--env best --params training.constraint=clip,training.optimizer=rmsprop"

Each ``--run NAME=ARGS`` trains as ``scripts/train_jax.py ARGS`` would (conf/base, then
conf/ENV, then --params; the project's schemas), on all of data/01_raw/mnist.npz, and after
every epoch judges the raw generator on ``--judge-samples`` images against MNIST's test set with
data/06_models/mnist/judge.keras (trained by `kedro run --pipelines classifier`), as a run judges
while it trains. The best epoch's generator is then judged on ``evaluation.n_samples`` (10,000)
images with the final evaluation's seed, k and splits (conf/, read as train_jax.py reads it),
against the four quality targets (conf/base's ``evaluation.targets``), each recorded under its
name and bound. Needs Keras, JAX, NumPy, pydantic and PyYAML only. Writes one JSON file (--out)
after every configuration.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from wgan_pipeline.gan.judge import Judge  # noqa: E402
from wgan_pipeline.gan.metrics import frechet_distance, targets_met  # noqa: E402
from wgan_pipeline.params import DataParams, EvaluationParams, TrainingParams  # noqa: E402
from wgan_pipeline.training_run.run_folder import RunFolders  # noqa: E402
from wgan_pipeline.training_run.scanned import train_scanned  # noqa: E402

KEYS = ("fid", "precision", "recall", "rarest_class_share", "commonest_class_share")
# what a judge takes from params:evaluation, as the training node builds it
JUDGING = {"batch_size", "k_precision_recall", "k_density_coverage", "score_splits"}


def train_jax_module():
    spec = importlib.util.spec_from_file_location("train_jax", ROOT / "scripts" / "train_jax.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_one(args_text: str, epochs: int, judge_samples: int, tools, classifier, test) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--env")
    parser.add_argument("--params", default="")
    args = parser.parse_args(shlex.split(args_text))
    overrides = ",".join(filter(None, [args.params, f"training.epochs={epochs}"]))
    merged = tools.parameters(args.env, overrides, ROOT / "conf")
    data, params = DataParams(**merged["data"]), TrainingParams(**merged["training"])
    evaluation = EvaluationParams(**merged["evaluation"])
    judging = evaluation.model_dump(include=JUDGING)
    images = tools.load_images(data.dataset, ROOT, data.max_train_images)
    judge = Judge(classifier, test, n=judge_samples, latent_dim=params.latent_dim,
                  noise=params.noise, seed=0, **judging)  # fmt: skip
    rows, best = [], {"fid": float("inf")}
    trained = [0.0]

    def judged(epoch, progress, generator):
        trained[0] += progress.history[-1]["epoch_seconds"]
        started = time.perf_counter()
        row = {k: round(float(v), 4) for k, v in judge(generator).items() if k in KEYS}
        row |= {"epoch": epoch, "training_s": round(trained[0], 1),
                "judge_s": round(time.perf_counter() - started, 2)}  # fmt: skip
        rows.append(row)
        if row["fid"] < best["fid"]:
            best.update(fid=row["fid"], epoch=epoch, weights=generator.get_weights())
        print(json.dumps(row), flush=True)

    with tempfile.TemporaryDirectory() as checkpoints:
        folders = RunFolders(Path(checkpoints))
        result = train_scanned(images, params, folders, on_epoch=judged)
        folders.release(remove=True)
    result.generator.set_weights(best.pop("weights"))
    final = Judge(classifier, test, n=evaluation.n_samples, latent_dim=params.latent_dim,
                  noise=params.noise, seed=evaluation.seed, **judging)(result.generator)  # fmt: skip
    final = {k: round(float(v), 4) for k, v in final.items() if k in KEYS}
    return {"args": args_text, "training": params.model_dump(), "epochs": rows,
            "best_epoch": best["epoch"], "best_judged_10000": final}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="append", required=True, help="NAME=train_jax args")
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--judge-samples", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/judged_epochs.json")
    args = parser.parse_args()
    import jax  # noqa: PLC0415

    tools = train_jax_module()
    classifier = keras.saving.load_model(ROOT / "data/06_models/mnist/judge.keras", safe_mode=True)
    with np.load(ROOT / "data/01_raw/mnist.npz") as arrays:
        test, train = arrays["x_test"], arrays["x_train"][:10_000]
    # the floor: 10,000 real training digits judged as the generated ones are
    evaluation = EvaluationParams(**tools.parameters(None, "", ROOT / "conf")["evaluation"])
    judge = Judge(classifier, test, n=evaluation.n_samples, latent_dim=1, noise="uniform", seed=0,
                  **evaluation.model_dump(include=JUDGING))  # fmt: skip
    features, _ = judge.features(train)
    floor = round(float(frechet_distance(judge.reference, features)), 3)
    quality = evaluation.targets.model_dump()
    card = json.loads((ROOT / "data/06_models/mnist/judge.json").read_text())
    results = {
        "device": ", ".join(d.device_kind for d in jax.devices()),
        "command": "KERAS_BACKEND=jax python benchmarks/judged_epochs.py "
        + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "judge": {"hash": card["hash"], "test_accuracy": card["test_accuracy"]},
        "floor_fid": floor,
        "runs": {},
    }
    for item in args.run:
        name, _, run_args = item.partition("=")
        run = run_one(run_args, args.epochs, args.judge_samples, tools, classifier, test)
        run["targets"] = targets_met(run["best_judged_10000"], floor, quality)
        results["runs"][name] = run
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n")
        print(name, run["best_epoch"], run["best_judged_10000"], flush=True)


if __name__ == "__main__":
    main()
