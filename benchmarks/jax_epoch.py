"""One 60,000-image epoch of the project's WGAN step on Keras' JAX backend, on whatever device
JAX sees (a GPU where there is one): the path a machine without TensorFlow can measure.

    python benchmarks/jax_epoch.py              # 2 timed epochs per mode
    python benchmarks/jax_epoch.py --quick      # 3 steps per mode: proves it runs (CI, CPU)

Needs only Keras, JAX and NumPy (no TensorFlow, no Kedro): on a GPU machine,
``PYTHONPATH=src python benchmarks/jax_epoch.py``. Batch 100, the chapter's configuration
(clipping at 0.1, RMSprop 5e-5, n_critic 1), the default UpSampleConv2D generator. Modes:

- ``fit``: ``WGAN.fit`` on the images as a NumPy array, as Keras runs it: one compiled step per
  batch, dispatched from Python, the batch copied to the device each step;
- ``fit_spe``: ``fit`` with ``steps_per_execution=100``, which the WGAN runs on JAX as the
  step scanned over 100 batches per compiled call (``training.steps_per_execution`` in a run);
- ``scan``: the same ``train_step`` scanned over a whole epoch in one compiled call
  (``jax.lax.scan``), the images on the device, the batches gathered there: no Python per step;
- each in float32 and in mixed bfloat16 (float32 weights, critic score and losses).

Also measured: the attainable rate (an 8192^2 float32 matmul, at JAX's default precision,
which on an NVIDIA GPU is TF32, and at "highest", true float32) and the device's peak memory.
Prints a table and one JSON line, and writes the JSON to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(Path(__file__).parent)]

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
from train_speed import forward_flops, step_flops  # noqa: E402

from wgan_pipeline.gan import jax_adapter  # noqa: E402
from wgan_pipeline.gan.models import build_critic, build_generator  # noqa: E402
from wgan_pipeline.gan.wgan import WGAN  # noqa: E402

BATCH, LATENT, SEED = 100, 100, 0


def attainable_tflops(quick: bool) -> dict:
    n = 1024 if quick else 8192
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.key(1), (n, n), jnp.float32)
    rates = {}
    for precision in ("default", "highest"):
        matmul = jax.jit(lambda a, b, p=precision: jnp.matmul(a, b, precision=p))
        matmul(a, b).block_until_ready()
        reps = 3 if quick else 20
        start = time.perf_counter()
        for _ in range(reps):
            out = matmul(a, b)
        out.block_until_ready()
        rates[precision] = 2 * n**3 * reps / (time.perf_counter() - start) / 1e12
    return rates


def make_wgan(dtype: str | None, steps_per_execution: int = 1) -> WGAN:
    keras.utils.set_random_seed(SEED)
    wgan = WGAN(build_generator(LATENT, fused_upsampling=True, dtype=dtype),
                build_critic(dtype=dtype), latent_dim=LATENT, clip_value=0.1, seed=SEED)  # fmt: skip
    wgan.compile(keras.optimizers.RMSprop(5e-5), keras.optimizers.RMSprop(5e-5),
                 steps_per_execution=steps_per_execution)  # fmt: skip
    return wgan


class EpochClock(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)  # logs are fetched: work is done


def time_fit(images, dtype, steps, epochs, steps_per_execution=1) -> dict:
    wgan = make_wgan(dtype, steps_per_execution)
    clock = EpochClock()
    wgan.fit(images[: steps * BATCH], batch_size=BATCH, epochs=1 + epochs, shuffle=True,
             verbose=0, callbacks=[clock])  # fmt: skip
    best = min(clock.seconds[1:])  # the first epoch compiles
    return {"steps": steps, "epoch_s": best, "first_epoch_s": clock.seconds[0],
            "steps_per_s": steps / best}  # fmt: skip


def time_scan(images: np.ndarray, dtype: str | None, steps: int, epochs: int) -> dict:
    wgan = make_wgan(dtype)
    on_device = jnp.asarray(images)
    state = tuple([v.value for v in group] for group in jax_adapter.state_variables(wgan))

    @jax.jit
    def epoch(state, key):
        order = jax.random.permutation(key, len(on_device))[: steps * BATCH]

        def step(state, batch_indices):
            logs, state = wgan.train_step(state, on_device[batch_indices])
            return state, logs["step_wasserstein_estimate"]

        return jax.lax.scan(step, state, order.reshape(steps, BATCH))

    seconds = []
    for e in range(1 + epochs):
        start = time.perf_counter()
        state, estimates = epoch(state, jax.random.key(e))
        estimates.block_until_ready()
        seconds.append(time.perf_counter() - start)
    assert np.all(np.isfinite(np.asarray(estimates))), "the step diverged"
    best = min(seconds[1:])
    return {"steps": steps, "epoch_s": best, "first_epoch_s": seconds[0],
            "steps_per_s": steps / best}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", type=Path, default=ROOT / "data" / "01_raw" / "mnist.npz")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs; the best counts")
    parser.add_argument("--quick", action="store_true", help="3 steps per mode, for CI")
    parser.add_argument("--modes", default="fit,fit_spe,scan,fit_bf16,fit_spe_bf16,scan_bf16")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "jax.json")
    args = parser.parse_args()
    if not args.mnist.exists():
        raise SystemExit(f"No MNIST at {args.mnist}: run `kedro run --pipelines data_processing` "
                         "once (it downloads it) or pass --mnist PATH.")  # fmt: skip
    with np.load(args.mnist, allow_pickle=False) as data:
        # scaled as data_processing.scale_images does: (x - 127.5) / 127.5, NHWC
        images = ((data["x_train"].astype(np.float32) - 127.5) / 127.5)[..., np.newaxis]
    steps = 3 if args.quick else len(images) // BATCH
    epochs = 1 if args.quick else args.epochs

    device = jax.devices()[0]
    report = {
        "command": " ".join(["KERAS_BACKEND=jax python benchmarks/jax_epoch.py", *sys.argv[1:]]),
        "device": f"{device.platform}: {device.device_kind}",
        "jax": jax.__version__, "keras": keras.__version__,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "settings": {"batch_size": BATCH, "steps_per_epoch": steps, "quick": args.quick},
        "attainable_tflops": attainable_tflops(args.quick),
    }  # fmt: skip
    flops = step_flops(forward_flops(build_generator(LATENT, fused_upsampling=True)),
                       forward_flops(build_critic()))  # fmt: skip
    report["executed_gflop_per_step"] = flops / 1e9
    for mode in args.modes.split(","):
        dtype = "mixed_bfloat16" if mode.endswith("bf16") else None
        print(f"measuring {mode} ...", file=sys.stderr, flush=True)
        if mode.startswith("scan"):
            result = time_scan(images, dtype, steps, epochs)
        else:
            per_call = min(100, steps) if mode.startswith("fit_spe") else 1
            result = time_fit(images, dtype, steps, epochs, per_call)
            result["steps_per_execution"] = per_call
        result["executed_tflops"] = result["steps_per_s"] * flops / 1e12
        result["epoch_60k_s"] = (len(images) // BATCH) / result["steps_per_s"]
        report[mode] = result
    stats = device.memory_stats() or {}
    report["peak_device_memory_mb"] = stats.get("peak_bytes_in_use", 0) / 1e6 or None

    print(f"{report['device']} (JAX {jax.__version__}, Keras {keras.__version__})")
    rates = report["attainable_tflops"]
    print(f"attainable: {rates['default']:.3g} TFLOP/s float32 matmul at default precision, "
          f"{rates['highest']:.3g} at highest")  # fmt: skip
    for mode in args.modes.split(","):
        r = report[mode]
        print(f"{mode:<10} epoch of 60,000 images {r['epoch_60k_s']:.3g} s "
              f"({r['steps_per_s']:.3g} steps/s, {r['executed_tflops']:.3g} TFLOP/s executed; "
              f"first epoch with compilation {r['first_epoch_s']:.1f} s)")  # fmt: skip
    if report["peak_device_memory_mb"]:
        print(f"peak device memory {report['peak_device_memory_mb']:.0f} MB")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
