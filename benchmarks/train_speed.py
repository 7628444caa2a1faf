"""Training speed on this machine: the chapter's loop against the project's step, in one run.

    python benchmarks/train_speed.py            # 3 x 40 timed steps per loop, ~5 minutes on 2 cores
    python benchmarks/train_speed.py --quick    # a few steps: proves the benchmark runs (CI)

Every measurement runs in its own fresh Python process (so each peak memory is its own), on the
same real MNIST batches (the index sequence the chapter's loop draws from its seed), batch 100,
float32. Each loop is timed in --repeats blocks and the best block counts: this machine is a
shared virtual one whose speed drifts, and the best block is the least disturbed. Prints a table and writes JSON to benchmarks/results/latest.json (or --out).

Measured:
- attainable float32 rate: a 4096 x 4096 matmul, the best the machine does on dense arithmetic
  (1024 x 1024 with --quick, which proves the phases run and measures nothing to report);
- the chapter's loop (chapter_loop.py beside this file: train_on_batch, a combined model,
  NumPy weight clipping);
- the project's step with the plain generator and with UpSampleConv2D (the default), and the
  latter in mixed bfloat16, with XLA, with 8 steps per compiled call and with oneDNN off;
- the per-epoch cost of the MLflow callback (metrics + sample grid) and the epoch timer.
FLOPs are counted per layer from the models (2 x multiply-adds; forward, plus weight and input
gradients where the step computes them): "executed" counts what the step runs, "nominal" what
the chapter's plain model needs for the same step.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BATCH, LATENT, SEED = 100, 100, 0
EPOCH_STEPS = 60000 // BATCH
PHASES = ["matmul", "chapter", "project_plain", "project_fused", "project_fused_bf16",
          "project_fused_xla", "project_fused_spe8", "project_fused_no_onednn", "callbacks",
          "checkpoint"]  # fmt: skip
VARIANTS = {  # the fused float32 step with one setting changed
    "fused_xla": "XLA (jit_compile=True)",
    "fused_spe8": "8 steps per compiled call",
    "fused_no_onednn": "oneDNN off (TF_ENABLE_ONEDNN_OPTS=0)",
}


# --- FLOP counting ---------------------------------------------------------------------------


def forward_flops(model) -> int:
    """FLOPs (2 x multiply-adds) of one image through ``model``'s Dense and conv layers."""
    import keras

    from wgan_pipeline.gan.layers import UpSampleConv2D

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            total += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
        elif isinstance(layer, keras.layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            _, h, w, _ = layer.output.shape
            total += 2 * h * w * kh * kw * cin * cout
        elif isinstance(layer, UpSampleConv2D):
            _, h, w, cin = layer.input.shape
            total += 2 * h * w * 9 * cin * 4 * layer.filters
    return total


def step_flops(g: int, d: int, batch: int = BATCH, n_critic: int = 1) -> int:
    """One WGAN step: n_critic x (G forward on B, D forward + weight and input gradients on 2B)
    + (G forward, D forward, D input gradients, G weight and input gradients, on B)."""
    return n_critic * batch * (g + 3 * 2 * d) + batch * (3 * g + 2 * d)


# --- phases, each in its own process -----------------------------------------------------------


def load_batches(mnist: Path, steps: int):
    """x_train (uint8) and the index batches the chapter's loop draws with its seed."""
    import numpy as np

    with np.load(mnist, allow_pickle=False) as data:
        x = data["x_train"]
    rng = np.random.default_rng(SEED)
    batches = []
    for _ in range(steps):
        batches.append(rng.integers(0, len(x), BATCH))
        rng.uniform(-1, 1, (BATCH, LATENT))  # the loop's noise draw, to stay in step with it
    return x, np.array(batches, dtype=np.int64).reshape(steps, BATCH)


def phase_matmul(args) -> dict:
    import tensorflow as tf

    n = 1024 if args.quick else 4096
    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    matmul = tf.function(lambda a, b: tf.linalg.matmul(a, b))
    matmul(a, b).numpy()
    reps = 3 if args.quick else 10
    start = time.perf_counter()
    for _ in range(reps):
        matmul(a, b).numpy()
    seconds = time.perf_counter() - start
    return {"gflops": 2 * n**3 * reps / seconds / 1e9, "n": n}


def phase_chapter(args) -> dict:
    sys.path.insert(0, str(Path(__file__).parent))
    import chapter_loop

    x, _ = load_batches(args.mnist, 0)
    runs = [chapter_loop.steps_per_second(x, steps=args.steps, warmup=args.warmup)
            for _ in range(args.repeats)]  # fmt: skip
    return {"steps_per_s": max(runs), "runs": runs}


def _project(args, fused: bool, dtype: str | None = None, **compile_args) -> dict:
    import keras
    import tensorflow as tf

    from wgan_pipeline.gan.images import scale_images
    from wgan_pipeline.gan.models import build_critic, build_generator
    from wgan_pipeline.gan.wgan import WGAN

    x, batches = load_batches(args.mnist, args.warmup + args.steps)
    keras.utils.set_random_seed(SEED)
    generator = build_generator(LATENT, fused_upsampling=fused, dtype=dtype)
    critic = build_critic(dtype=dtype)
    wgan = WGAN(generator, critic, latent_dim=LATENT, clip_value=0.1, seed=SEED)
    wgan.compile(keras.optimizers.RMSprop(5e-5), keras.optimizers.RMSprop(5e-5), **compile_args)
    images = tf.convert_to_tensor(scale_images(x))

    def dataset(index_batches):
        return tf.data.Dataset.from_tensor_slices(index_batches).map(
            lambda idx: tf.gather(images, idx)
        )

    wgan.fit(dataset(batches[: args.warmup]), epochs=1, verbose=0)
    runs = []
    for _ in range(args.repeats):  # the same batches each time, like the chapter's loop
        start = time.perf_counter()
        wgan.fit(dataset(batches[args.warmup :]), epochs=1, verbose=0)
        runs.append(args.steps / (time.perf_counter() - start))
    plain_g = forward_flops(build_generator(LATENT))
    return {
        "steps_per_s": max(runs),
        "runs": runs,
        "executed_gflop_per_step": step_flops(forward_flops(generator), forward_flops(critic))
        / 1e9,
        "nominal_gflop_per_step": step_flops(plain_g, forward_flops(critic)) / 1e9,
    }


def phase_project_plain(args) -> dict:
    return _project(args, fused=False)


def phase_project_fused(args) -> dict:
    return _project(args, fused=True)


def phase_project_fused_bf16(args) -> dict:
    """Mixed precision: bfloat16 compute, float32 weights, score and losses (skipped where
    this CPU has no bfloat16 kernels: there the step would abort)."""
    from wgan_pipeline.training_run.devices import bfloat16_unsupported

    reason = bfloat16_unsupported()
    if reason:
        return {"skipped": reason}
    return _project(args, fused=True, dtype="mixed_bfloat16")


def phase_project_fused_xla(args) -> dict:
    return _project(args, fused=True, jit_compile=True)


def phase_project_fused_spe8(args) -> dict:
    return _project(args, fused=True, steps_per_execution=8)


def phase_project_fused_no_onednn(args) -> dict:
    """TF_ENABLE_ONEDNN_OPTS=0 is set for this phase's process by run_phase."""
    return _project(args, fused=True)


def phase_callbacks(args) -> dict:
    """Seconds per epoch spent recording a training (the TrainingSession's after-step and
    after-epoch work: checks, histories, the fixed-noise grid, its live MLflow logging) under a
    real (temporary) MLflow run; the checkpoint is phase_checkpoint's."""
    import tempfile

    import keras
    import mlflow
    import numpy as np
    import yaml

    from wgan_pipeline.gan.models import build_critic, build_generator
    from wgan_pipeline.gan.wgan import WGAN
    from wgan_pipeline.params import TrainingParams
    from wgan_pipeline.training_run.mlflow_sink import MlflowSink
    from wgan_pipeline.training_run.run_folder import RunFolders
    from wgan_pipeline.training_run.session import STEP_ESTIMATE, TrainingSession

    wgan = WGAN(build_generator(LATENT, fused_upsampling=True), build_critic(), latent_dim=LATENT,
                clip_value=0.1)  # fmt: skip
    wgan.compile(keras.optimizers.RMSprop(5e-5), keras.optimizers.RMSprop(5e-5))
    base = yaml.safe_load((ROOT / "conf/base/parameters_training.yml").read_text())["training"]
    params = TrainingParams(**base | {"batch_size": BATCH, "latent_dim": LATENT, "grid_rows": 8})
    images = np.zeros((BATCH * EPOCH_STEPS, 28, 28, 1), np.float32)
    logs = {"critic_loss": 0.1, "generator_loss": 0.2, "wasserstein_estimate": -0.1}
    with tempfile.TemporaryDirectory() as tmp:
        mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
        # artifacts in the temporary folder too, not in an mlruns/ of the working directory
        experiment = mlflow.create_experiment("benchmark", artifact_location=Path(tmp).as_uri())
        folders = RunFolders(Path(tmp) / "checkpoints")
        session = TrainingSession(wgan, params, images, folders, "fit", sink=MlflowSink(8))
        with mlflow.start_run(experiment_id=experiment), session:
            session.save = lambda: None  # timed by phase_checkpoint
            times = []
            for epoch in range(4):
                start = time.perf_counter()
                for step in range(1, EPOCH_STEPS + 1):  # the per-step recording, an epoch's worth
                    session.after_steps(epoch * EPOCH_STEPS + step, {**logs, STEP_ESTIMATE: 0.1})
                session.after_epoch(epoch + 1, dict(logs), 1.0)
                times.append(time.perf_counter() - start)
        folders.release(remove=True)
    return {"seconds_per_epoch": float(np.median(times[1:])), "first_epoch_s": times[0]}


def phase_checkpoint(args) -> dict:
    """Seconds to write one full training checkpoint (both networks, both optimizers, progress)
    and to restore it, in a temporary folder."""
    import tempfile

    import keras
    import numpy as np

    from wgan_pipeline.gan.models import build_critic, build_generator
    from wgan_pipeline.gan.wgan import WGAN
    from wgan_pipeline.training_run import checkpoints

    wgan = WGAN(build_generator(LATENT, fused_upsampling=True), build_critic(), latent_dim=LATENT,
                clip_value=0.1)  # fmt: skip
    wgan.compile(keras.optimizers.RMSprop(5e-5), keras.optimizers.RMSprop(5e-5))
    wgan.train_on_batch(np.zeros((BATCH, 28, 28, 1), np.float32))  # optimizer slots exist
    progress = checkpoints.Progress(samples=[np.zeros((64, 28, 28), np.uint8)] * 30)
    writes, reads = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(max(3, args.repeats)):
            start = time.perf_counter()
            path = checkpoints.save(Path(tmp), wgan, progress, {"params": {}})
            writes.append(time.perf_counter() - start)
            start = time.perf_counter()
            checkpoints.restore(path, wgan)
            reads.append(time.perf_counter() - start)
        size = sum(f.stat().st_size for f in path.iterdir())
    return {"write_s": float(np.median(writes)), "restore_s": float(np.median(reads)),
            "size_mb": size / 1e6}  # fmt: skip


# --- the run -----------------------------------------------------------------------------------


def run_phase(name: str, args) -> dict:
    command = [sys.executable, __file__, "--phase", name, "--mnist", str(args.mnist),
               "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--repeats", str(args.repeats)]  # fmt: skip
    if args.quick:
        command.append("--quick")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if name == "project_fused_no_onednn":
        env["TF_ENABLE_ONEDNN_OPTS"] = "0"
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def summarise(results: dict) -> dict:
    matmul = results["matmul"]["gflops"]
    chapter = results["chapter"].get("steps_per_s")
    summary = {"attainable_gflops": matmul, "epoch_steps": EPOCH_STEPS}
    for name in ("plain", "fused", "fused_bf16", *VARIANTS):
        r = results[f"project_{name}"]
        if "skipped" in r:
            summary[name] = {"skipped": r["skipped"]}
            continue
        executed = r["steps_per_s"] * r["executed_gflop_per_step"]
        summary[name] = {
            "steps_per_s": r["steps_per_s"],
            "epoch_s": summary["epoch_steps"] / r["steps_per_s"],
            "executed_gflops": executed,
            "fraction_of_attainable_executed": executed / matmul,
            "fraction_of_attainable_nominal": r["steps_per_s"]
            * r["nominal_gflop_per_step"]
            / matmul,
            "speedup_vs_chapter": r["steps_per_s"] / chapter if chapter else None,
            "peak_rss_mb": r["peak_rss_mb"],
        }
    summary["callbacks_fraction_of_epoch"] = (
        results["callbacks"]["seconds_per_epoch"] / summary["fused"]["epoch_s"]
    )
    return summary


def print_table(results: dict, summary: dict) -> None:
    chapter = results["chapter"]
    rows = [
        (
            f"attainable float32 ({results['matmul'].get('n', 4096)}^2 matmul)",
            f"{summary['attainable_gflops']:.0f} GFLOP/s",
            "",
        )
    ]
    if "steps_per_s" in chapter:
        rows.append(("chapter loop (baseline)", f"{chapter['steps_per_s']:.2f} steps/s",
                     f"{chapter['peak_rss_mb']:.0f} MB peak"))  # fmt: skip
    for name, label in (
        ("plain", "project step, plain generator"),
        ("fused", "project step, UpSampleConv2D"),
        ("fused_bf16", "same, mixed precision (bfloat16)"),
        *[(name, f"same, {label}") for name, label in VARIANTS.items()],
    ):
        s = summary[name]
        if "skipped" in s:
            rows.append((label, "skipped", s["skipped"]))
            continue
        ratio = f", {s['speedup_vs_chapter']:.2f}x chapter" if s["speedup_vs_chapter"] else ""
        rows.append((label, f"{s['steps_per_s']:.2f} steps/s{ratio}, epoch {s['epoch_s']:.0f} s",
                     f"{s['executed_gflops']:.0f} GFLOP/s executed = "
                     f"{100 * s['fraction_of_attainable_executed']:.0f}% of attainable "
                     f"({100 * s['fraction_of_attainable_nominal']:.0f}% nominal); "
                     f"{s['peak_rss_mb']:.0f} MB peak"))  # fmt: skip
    rows.append(("callbacks (MLflow metrics + grid)",
                 f"{results['callbacks']['seconds_per_epoch'] * 1000:.0f} ms per epoch",
                 f"{100 * summary['callbacks_fraction_of_epoch']:.2f}% of a fused epoch"))  # fmt: skip
    checkpoint = results["checkpoint"]
    rows.append(("training checkpoint (write / restore)",
                 f"{checkpoint['write_s']:.2f} s / {checkpoint['restore_s']:.2f} s",
                 f"{checkpoint['size_mb']:.0f} MB"))  # fmt: skip
    width = max(len(r[0]) for r in rows)
    for label, value, note in rows:
        print(f"{label:<{width}}  {value}  {note}".rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", type=Path, default=None, help="an mnist.npz in Keras' layout")
    parser.add_argument("--steps", type=int, default=40, help="timed steps per block")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first (tracing)")
    parser.add_argument("--repeats", type=int, default=3, help="timed blocks; the best counts")
    parser.add_argument("--quick", action="store_true", help="a few steps, for CI")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "latest.json")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.steps, args.warmup, args.repeats = 3, 2, 1
    if args.mnist is None:
        candidates = [
            ROOT / "data" / "01_raw" / "mnist.npz",
        ]
        args.mnist = next((p for p in candidates if p.exists()), None)
        if args.mnist is None:
            raise SystemExit("No MNIST found: run `kedro run --pipelines data_processing` once "
                             "(it downloads data/01_raw/mnist.npz) or pass --mnist PATH.")  # fmt: skip

    if args.phase:  # a child: measure one thing, print one JSON line
        result = globals()[f"phase_{args.phase}"](args)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return

    results = {}
    for name in PHASES:
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        results[name] = run_phase(name, args)
    summary = summarise(results)
    print_table(results, summary)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "command": " ".join(["python", "benchmarks/train_speed.py", *sys.argv[1:]]),
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "cpus": os.cpu_count()},
        "settings": {"batch_size": BATCH, "steps": args.steps, "warmup": args.warmup,
                     "repeats": args.repeats,
                     "quick": args.quick, "dtype": "float32"},
        "results": results, "summary": summary,
        "date": time.strftime("%Y-%m-%d"),
    }, indent=2) + "\n")  # fmt: skip
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
