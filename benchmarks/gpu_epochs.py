"""Seconds per epoch of `kedro run`'s configuration and of `--env best` on a GPU, trained by
scripts/train_jax.py (Keras on JAX: a GPU machine without TensorFlow or Kedro runs it).

    KERAS_BACKEND=jax python benchmarks/gpu_epochs.py --epochs 3 --out benchmarks/results/gpu_epochs.json

Each configuration trains ``--epochs`` epochs over all 60,000 MNIST images (data/01_raw/mnist.npz)
in a scratch copy of the project's conf, with the pipeline's parameters otherwise unchanged;
the first epoch includes compiling the step. Writes the per-epoch seconds (the training
history's ``epoch_seconds``), the whole script's wall time, and the device.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGURATIONS = {"kedro run": None, "kedro run --env best": "best"}


def device() -> str:
    code = "import jax; print(', '.join(d.device_kind for d in jax.devices()))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip


def train(env: str | None, params: str, scratch: Path) -> dict:
    command = [sys.executable, str(ROOT / "scripts" / "train_jax.py"), "--root", str(scratch),
               "--params", params] + (["--env", env] if env else [])  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          env={**os.environ, "KERAS_BACKEND": "jax"})  # fmt: skip
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    with (scratch / "data" / "08_reporting" / "training_history.csv").open() as stream:
        seconds = [float(row["epoch_seconds"]) for row in csv.DictReader(stream)]
    return {"epoch_seconds": [round(s, 2) for s in seconds], "script_wall_s": round(wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--params", default="", help="more overrides (a quick check: "
                        "data.max_train_images=200)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/gpu_epochs.json")
    args = parser.parse_args()
    results = {
        "device": device(),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "command": "KERAS_BACKEND=jax python benchmarks/gpu_epochs.py " + " ".join(sys.argv[1:]),
        "trainer": "scripts/train_jax.py (Keras on JAX, each epoch one compiled scan)",
        "configurations": {},
    }
    for name, env in CONFIGURATIONS.items():
        with tempfile.TemporaryDirectory() as folder:
            scratch = Path(folder)
            shutil.copytree(ROOT / "conf", scratch / "conf")
            (scratch / "data" / "01_raw").mkdir(parents=True)
            os.symlink(ROOT / "data" / "01_raw" / "mnist.npz", scratch / "data/01_raw/mnist.npz")
            params = ",".join(filter(None, [f"training.epochs={args.epochs}", args.params]))
            results["configurations"][name] = train(env, params, scratch)
        print(name, results["configurations"][name], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
