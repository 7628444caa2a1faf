"""Where training computes, and deterministic ops: what each Keras backend spells its own way.

TensorFlow is imported only on the TensorFlow backend, JAX only on JAX.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess

import keras

logger = logging.getLogger(__name__)
_GPU_DETERMINISM = "--xla_gpu_deterministic_ops=true"


def devices() -> list[str]:
    """The devices the backend computes on: its GPUs when it sees any, else the CPU."""
    if keras.backend.backend() == "jax":
        import jax  # noqa: PLC0415 (only on that backend)

        return [f"{d.platform}:{d.id} ({d.device_kind})" for d in jax.devices()]
    import tensorflow as tf  # noqa: PLC0415

    found = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return [d.name for d in found]


GPU_INSTALL = 'pip install -e ".[gpu]"'


def nvidia_gpus() -> list[str]:
    """The NVIDIA GPUs the driver sees (``nvidia-smi -L``), whatever the backend sees."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listed = subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in listed.splitlines() if line.startswith("GPU ")]


def report_devices() -> str:
    """Logs the devices this run computes on, and returns them. Where the driver sees an NVIDIA
    GPU but the backend does not (plain ``tensorflow`` carries no CUDA libraries on Linux), it
    warns with the install line that fixes it: the run would silently train on the CPU."""
    found = ", ".join(devices())
    logger.info("Keras %s backend computes on: %s.", keras.backend.backend(), found)
    gpus = nvidia_gpus()
    if gpus and "GPU" not in found.upper():
        logger.warning(
            "nvidia-smi sees %s, but the %s backend does not: this run trains on the CPU. "
            "Install the CUDA builds with `%s` (TensorFlow's and JAX's), then run again.",
            "; ".join(gpus),
            keras.backend.backend(),
            GPU_INSTALL,
        )
    return found


def enable_determinism() -> None:
    """Same inputs, same bits: TensorFlow's op determinism. JAX's CPU kernels already are; on a
    GPU, XLA reads its flag at start-up, so it can only be asked for before the run."""
    if keras.backend.backend() != "jax":
        import tensorflow as tf  # noqa: PLC0415

        tf.config.experimental.enable_op_determinism()
        return
    import jax  # noqa: PLC0415

    if jax.default_backend() == "gpu" and _GPU_DETERMINISM not in os.environ.get("XLA_FLAGS", ""):
        logger.warning(
            "training.deterministic: JAX on a GPU is deterministic only when started with "
            "XLA_FLAGS=%s; this run is not.",
            _GPU_DETERMINISM,
        )


def bfloat16_unsupported() -> str | None:
    """Why mixed bfloat16 training cannot run here, or None if it can. TensorFlow's CPU kernels
    (oneDNN) need bfloat16 instructions (AVX512_BF16, AMX): without them a bfloat16 convolution
    fails, and inside the compiled step that aborts the process. Probed with one tiny
    convolution; a GPU, or JAX (XLA), runs bfloat16 everywhere."""
    if keras.backend.backend() == "jax":
        return None
    import tensorflow as tf  # noqa: PLC0415

    if tf.config.list_logical_devices("GPU"):
        return None
    try:
        x = tf.ones((1, 4, 4, 1), tf.bfloat16)
        tf.nn.conv2d(x, tf.ones((3, 3, 1, 1), tf.bfloat16), 1, "SAME")
    except tf.errors.OpError as exc:
        return f"this CPU's kernels have no bfloat16 convolution ({str(exc).splitlines()[0][:160]})"
    return None
