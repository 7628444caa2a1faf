"""Train any configuration with Keras on JAX alone, for a GPU machine without TensorFlow or Kedro.

    KERAS_BACKEND=jax python scripts/train_jax.py --env best
    KERAS_BACKEND=jax python scripts/train_jax.py --env gp --params training.epochs=200

Needs Keras, JAX, NumPy, pydantic, PyYAML and Pillow (``pip install keras jax pydantic pyyaml
pillow``; JAX's CUDA build on an NVIDIA GPU); no Kedro, MLflow or TensorFlow, and no install of
the project (it puts ``src/`` on the path). Reads the parameters as ``kedro run --env ENV
--params ...`` would (conf/base, then conf/ENV key by key, then --params), checks them with
the project's schemas, and trains on ``data.dataset``'s raw files in data/01_raw (MNIST's
mnist.npz, Fashion-MNIST's IDX files: the layout the pipeline downloads).

Writes what the pipeline's training node writes, where the catalog puts it, so that back on a
machine with the project installed ``kedro run --pipelines evaluation --env ENV --params ...``
(the same ENV and --params: the MLflow run then holds the training's parameters) judges this
generator exactly as it judges one trained by ``kedro run``; the script prints that command,
with ``--load-versions`` pinning the version it wrote:
- data/06_models/<dataset>/{generator,generator_last,critic}.keras/<version>/: the last epoch's
  networks (nothing is judged while training, so the kept generator is the last one);
- data/06_models/<dataset>/training_record.json/<version>/: what the release says of them
  (their weight hashes, epoch and training settings);
- data/07_model_output/epoch_samples.npy, data/08_reporting/training_{history,steps}.csv and
  data/08_reporting/<dataset>/judge_history.csv (empty), the evaluation's inputs;
- data/08_reporting/jax_samples/epoch_NNN.png: each epoch's fixed-noise grid (what the pipeline
  logs to MLflow as samples/epoch_NNN.png);
- checkpoints in data/06_models/<dataset>/checkpoints/, one per epoch: run the same command
  again after a kill and it resumes.
tests/test_train_jax.py checks these paths against the catalog's.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
import yaml  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from wgan_pipeline.params import DataParams, TrainingParams, model_name  # noqa: E402

RAW = {"mnist": "data/01_raw/mnist.npz", "fashion_mnist": "data/01_raw/fashion-mnist"}
MODELS = "data/06_models/{dataset}/{name}.keras"  # versioned: <this>/<version>/<name>.keras
CHECKPOINTS = "data/06_models/{dataset}/checkpoints"
OUTPUTS = {
    "epoch_samples": "data/07_model_output/epoch_samples.npy",
    "training_history": "data/08_reporting/training_history.csv",
    "training_steps": "data/08_reporting/training_steps.csv",
    "judge_history": "data/08_reporting/{dataset}/judge_history.csv",
}
# What the release says of the generators (training_record in the catalog), one per version.
RECORD = "data/06_models/{dataset}/training_record.json"  # <this>/<version>/training_record.json
GRIDS = "data/08_reporting/jax_samples"
JUDGED = ["epoch", "source", "fid", "kept"]  # judge_history's columns when nothing is judged


def parameters(env: str | None, overrides: str, conf: Path) -> dict:
    """``params:data`` and ``params:training`` as Kedro's config loader gives them with
    ``--env env --params overrides``: conf/base/parameters*.yml, then the env's files
    overriding single keys (the project's soft merge), ``${globals:key}`` from globals.yml
    (the env's over base's), then the overrides (dotted keys, YAML values)."""
    merged: dict = {}
    shared: dict = {}
    for folder in ["base", *([env] if env else [])]:
        if not (conf / folder).is_dir():
            raise SystemExit(f"No env '{folder}': {conf / folder} does not exist.")
        for path in sorted((conf / folder).glob("parameters*.yml")):
            for group, values in (yaml.safe_load(path.read_text()) or {}).items():
                merged.setdefault(group, {}).update(values or {})
        if (conf / folder / "globals.yml").is_file():
            shared.update(yaml.safe_load((conf / folder / "globals.yml").read_text()) or {})
    for values in merged.values():
        for key, value in values.items():
            if isinstance(value, str) and value.startswith("${globals:"):
                values[key] = shared[value.removeprefix("${globals:").removesuffix("}")]
    for item in filter(None, overrides.split(",")):
        key, sep, value = item.partition("=")
        group, dot, name = key.strip().partition(".")
        if not (sep and dot and name):
            raise SystemExit(f"--params takes group.key=value pairs, got {item!r}.")
        merged.setdefault(group, {})[name] = yaml.safe_load(value)
    return merged


def load_images(dataset: str, root: Path, limit: int | None) -> np.ndarray:
    """The training images of ``dataset`` as float32 (N, 28, 28, 1) in [-1, 1]."""
    from wgan_pipeline.gan.images import scale_images  # noqa: PLC0415

    path = root / RAW[dataset]
    if dataset == "mnist":
        if not path.is_file():
            raise SystemExit(f"{path} is missing: copy mnist.npz there (`kedro run` downloads it).")
        with np.load(path) as arrays:
            pixels = arrays["x_train"]
    else:
        import gzip  # noqa: PLC0415

        file = path / "train-images-idx3-ubyte.gz"
        if not file.is_file():
            raise SystemExit(f"{file} is missing: copy Fashion-MNIST's IDX files to {path}.")
        with gzip.open(file) as stream:
            pixels = np.frombuffer(stream.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    return scale_images(pixels[:limit])


def version() -> str:
    """A Kedro dataset version: the UTC time to the millisecond, as Kedro writes it."""
    now = datetime.now(tz=UTC).strftime("%Y-%m-%dT%H.%M.%S.%fZ")
    return now[:-4] + now[-1:]


def write_csv(path: Path, rows: list[dict] | list[list], columns: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c) for c in columns] if isinstance(row, dict) else row)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", help="a conf/ folder, as kedro run --env (default: base only)")
    parser.add_argument("--params", default="", help="group.key=value,... as kedro run --params")
    parser.add_argument("--root", type=Path, default=ROOT, help="the project folder")
    args = parser.parse_args(argv)
    root = args.root.resolve()

    merged = parameters(args.env, args.params, root / "conf")
    try:
        data = DataParams(**merged["data"])
        params = TrainingParams(**merged["training"])
    except ValidationError as exc:
        raise SystemExit(f"Invalid parameters: {exc}") from None

    import keras  # noqa: PLC0415 (after KERAS_BACKEND is set)
    from PIL import Image  # noqa: PLC0415

    from wgan_pipeline.gan.images import image_grid  # noqa: PLC0415
    from wgan_pipeline.gan.judge import model_identity  # noqa: PLC0415
    from wgan_pipeline.training_run.run_folder import RunFolders  # noqa: PLC0415
    from wgan_pipeline.training_run.scanned import train_scanned  # noqa: PLC0415

    images = load_images(data.dataset, root, data.max_train_images)
    grids = root / GRIDS
    grids.mkdir(parents=True, exist_ok=True)

    def write_grid(epoch, progress, generator):
        grid = image_grid(progress.samples[-1], rows=params.grid_rows)
        Image.fromarray(grid).save(grids / f"epoch_{epoch:03d}.png")

    checkpoints_folder = RunFolders(root / CHECKPOINTS.format(dataset=data.dataset))
    result = train_scanned(
        images,
        params,
        checkpoints_folder,
        generator_name=model_name("generator", data.dataset),
        on_epoch=write_grid,
    )
    progress = result.progress
    history_columns = list(dict.fromkeys(k for row in progress.history for k in row))
    write_csv(root / OUTPUTS["training_history"], progress.history, history_columns)
    write_csv(root / OUTPUTS["training_steps"], progress.steps,
              ["critic_step", "epoch", "wasserstein_estimate"])  # fmt: skip
    write_csv(root / OUTPUTS["judge_history"].format(dataset=data.dataset), [], JUDGED)
    samples = root / OUTPUTS["epoch_samples"]
    samples.parent.mkdir(parents=True, exist_ok=True)
    np.save(samples, np.stack(progress.samples))
    stamp = version()
    for name, model in (("critic", result.critic), ("generator_last", result.generator_last),
                        ("generator", result.generator)):  # fmt: skip
        target = root / MODELS.format(dataset=data.dataset, name=name)
        (target / stamp).mkdir(parents=True, exist_ok=True)
        model.save(target / stamp / f"{name}.keras")
    record = root / RECORD.format(dataset=data.dataset) / stamp / "training_record.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    last = {"identity": model_identity(result.generator), "epoch": len(progress.history),
            "source": "raw"}  # fmt: skip
    record.write_text(json.dumps({"generator": last, "generator_last": last,
                                  "dataset": data.dataset,
                                  "training": params.model_dump(mode="json")}))  # fmt: skip
    checkpoints_folder.release(remove=True)  # every output is written: the checkpoint goes
    overrides = ",".join(filter(None, [args.params]))
    command = ["kedro run --pipelines evaluation",
               *([f"--env {args.env}"] if args.env else []),
               *([f'--params "{overrides}"'] if overrides else []),
               f"--load-versions generator:{stamp},generator_last:{stamp},"
               f"training_record:{stamp}"]  # fmt: skip
    summary = {
        "version": stamp,
        "backend": keras.backend.backend(),
        "epochs": len(progress.history),
        "train_seconds": round(sum(row["epoch_seconds"] for row in progress.history), 1),
        "evaluate": " ".join(command),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
