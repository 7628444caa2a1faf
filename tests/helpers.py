"""What the tests share: the project's paths, real MNIST, the CLI in a project copy, small
models and parameter groups. Imported by test modules; no test module imports another."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keras
import mlflow
import numpy as np
import pytest
import yaml
from keras import ops
from mlflow.tracking import fluent
from mlflow.tracking._model_registry import utils as registry_utils
from mlflow.tracking._tracking_service import utils as tracking_utils

from wgan_pipeline.gan.models import build_critic, build_generator
from wgan_pipeline.gan.wgan import WGAN
from wgan_pipeline.params import TrainingParams

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The shared, bit-exact MNIST copy CI places in data/01_raw (never the only way to get data).
SHARED_MNIST = PROJECT_ROOT.parent / "shared" / "data" / "mnist" / "mnist.npz"
SHARED_FASHION_MNIST = PROJECT_ROOT.parent / "shared" / "data" / "fashion-mnist"
FASHION_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")  # fmt: skip


# Where `kedro run --env test` tracks and registers (conf/test/mlflow.yml and globals.yml), never
# in the project's own experiment and registered models (conf/base's).
TEST_EXPERIMENT, TEST_MODEL = "wgan_pipeline_test", "wgan-generator-test"
USER_EXPERIMENT, USER_MODEL = "wgan_pipeline", "wgan-generator"


def mnist_copy() -> Path:
    """A local real MNIST file, or skip: the project's cache first, then the shared copy."""
    for path in (PROJECT_ROOT / "data" / "01_raw" / "mnist.npz", SHARED_MNIST):
        if path.is_file():
            return path
    pytest.skip(
        "needs real MNIST offline: place mnist.npz in data/01_raw/ "
        "(or ../shared/data/mnist/mnist.npz), as .ci/run does"
    )


def base_groups() -> dict:
    """conf/base's parameter groups, with its ``${globals:...}`` values filled in."""
    base = PROJECT_ROOT / "conf" / "base"
    shared = yaml.safe_load((base / "globals.yml").read_text())

    def resolve(value):
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, str) and value.startswith("${globals:"):
            return shared[value.removeprefix("${globals:").removesuffix("}")]
        return value

    groups = {}
    for path in base.glob("parameters*.yml"):
        groups |= resolve(yaml.safe_load(path.read_text()))
    return groups


def base_params(group: str, **overrides) -> dict:
    """conf/base's values of the parameter group ``group``, with ``overrides``."""
    groups = base_groups()
    if group not in groups:
        raise KeyError(f"no parameter group {group!r} in conf/base")
    return {**groups[group], **overrides}


def fashion_mnist_copy() -> Path:
    """A local folder of Fashion-MNIST's four files, or skip: the project's cache first, then
    the shared copy."""
    for folder in (PROJECT_ROOT / "data" / "01_raw" / "fashion-mnist", SHARED_FASHION_MNIST):
        if all((folder / name).is_file() for name in FASHION_FILES):
            return folder
    pytest.skip(
        "needs real Fashion-MNIST offline: place its four .gz files in data/01_raw/fashion-mnist/"
        " (or ../shared/data/fashion-mnist/), as .ci/run does"
    )


# --- the CLI in a copy of the project -------------------------------------------------------


# What MLflow mirrors of its process state into the environment (set_tracking_uri,
# set_registry_uri, set_experiment, an active model, a run): not for the processes tests start.
MLFLOW_PROCESS_STATE = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_ID",
                        "MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID", "_MLFLOW_ACTIVE_MODEL_ID")  # fmt: skip


@contextlib.contextmanager
def kept_mlflow_state() -> Iterator[None]:
    """MLflow keeps the tracking and registry URIs and the active experiment in module globals
    and mirrors them into environment variables, which later tests and the processes they start
    (the CLI, a notebook kernel) would inherit: put back what there was on leaving."""
    globals_ = [(tracking_utils, "_tracking_uri"), (registry_utils, "_registry_uri"),
                (fluent, "_active_experiment_id")]  # fmt: skip
    saved = [getattr(module, name) for module, name in globals_]
    env = {name: os.environ.get(name) for name in MLFLOW_PROCESS_STATE}
    try:
        yield
    finally:
        while mlflow.active_run():
            mlflow.end_run()
        for (module, name), value in zip(globals_, saved, strict=True):
            setattr(module, name, value)
        for name, value in env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def use_fresh_mlflow_store(folder: Path) -> str:
    """Point this process's MLflow (runs and registry) at a new SQLite store in ``folder``, with
    no experiment chosen (so runs go to its Default one). conftest.py's autouse fixture puts the
    previous state back after the test (or wrap it in ``kept_mlflow_state``)."""
    uri = f"sqlite:///{folder}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    fluent._active_experiment_id = None
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
    os.environ.pop("MLFLOW_EXPERIMENT_NAME", None)
    return uri


def kedro_env(verbose: bool = True) -> dict[str, str]:
    """The environment the CLI runs in; COLUMNS: a wide console, so rich does not break long
    paths in messages; PYTHONFAULTHANDLER: a run that crashes prints every thread's Python stack;
    WGAN_VERBOSE: Kedro's per-node lines too, which tests of refusals look for ("Running node"
    must not be there), unless ``verbose`` is false (the console as a user sees it)."""
    env = {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "COLUMNS": "400",
        "PYTHONFAULTHANDLER": "1",
        "WGAN_VERBOSE": "1" if verbose else "",
    }
    for name in MLFLOW_PROCESS_STATE:
        env.pop(name, None)
    return env


def kedro(
    project: Path, *args: str, timeout: int = 300, verbose: bool = True
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kedro", *args], check=False, cwd=project,
        env=kedro_env(verbose), capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


# `python -m kedro`, printing at exit which of the heavy libraries the process imported.
KEDRO_REPORTING_IMPORTS = """
import atexit, sys
heavy = ("tensorflow", "keras", "jax")
atexit.register(lambda: print("heavy imports:", [m for m in heavy if m in sys.modules]))
from kedro.framework.cli import main
sys.argv[0] = "python -m kedro"
main()
"""


def kedro_imports(project: Path, *args: str) -> tuple[subprocess.CompletedProcess, str]:
    """``kedro(project, *args)``, and the line naming which of TensorFlow, Keras and JAX the
    process imported (``heavy imports: []`` for none)."""
    done = subprocess.run(
        [sys.executable, "-c", KEDRO_REPORTING_IMPORTS, *args],
        check=False, cwd=project, env=kedro_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    said = [line for line in done.stdout.splitlines() if line.startswith("heavy imports:")]
    return done, said[-1] if said else "heavy imports: (not reported)"


def make_project_copy(root: Path, with_mnist: bool = True, with_fashion: bool = False) -> Path:
    """pyproject.toml, conf/, src/ and an empty data/ tree, as a fresh clone has them, in git.

    (The code that runs is the installed package; Kedro checks that src/ is there.)
    """
    project = root / "project"
    project.mkdir()
    shutil.copy(PROJECT_ROOT / "pyproject.toml", project)
    shutil.copytree(
        PROJECT_ROOT / "src",
        project / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    shutil.copytree(PROJECT_ROOT / "conf", project / "conf", ignore=shutil.ignore_patterns("local"))
    (project / "conf" / "local").mkdir()
    for layer in ("01_raw", "06_models", "07_model_output", "08_reporting"):
        (project / "data" / layer).mkdir(parents=True)
    if with_mnist:
        shutil.copy(mnist_copy(), project / "data" / "01_raw" / "mnist.npz")
    if with_fashion:
        shutil.copytree(fashion_mnist_copy(), project / "data" / "01_raw" / "fashion-mnist",
                        ignore=shutil.ignore_patterns("README*"))  # fmt: skip
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(project)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "pyproject.toml", "conf", "src"], check=True)
    subprocess.run([*git, "commit", "-qm", "copy"], check=True)
    return project


CONSOLE = "kedro-run-console.txt"  # beside a trained project: what its run printed


def trained_project(root: Path) -> Path:
    """A project copy under ``root`` after one real ``kedro run --env test``, its console (as a
    user sees it, not verbose) in ``root / CONSOLE``."""
    project = make_project_copy(root)
    done = kedro(project, "run", "--env", "test", verbose=False)
    (root / CONSOLE).write_text(done.stdout + done.stderr)
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    return project


def python_without_project(code: str, cwd: Path) -> str:
    """Run ``code`` in a plain interpreter that imports nothing from the project."""
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, cwd=cwd, capture_output=True, text=True, timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def memory_growth(code: str, cwd: Path) -> tuple[float, str]:
    """Run ``code``, which imports what it needs and defines ``call()``, in a fresh interpreter:
    how many MB its peak memory grew by while ``call()`` ran, and the error it raised."""
    measure = (
        "import resource\nbefore = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n    call()\n    print('raised nothing')\nexcept Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)\n"
    )
    *said, growth = python_without_project(code + "\n" + measure, cwd).strip().splitlines()
    return float(growth), "\n".join(said)


def model_versions(project: Path, name: str, dataset: str = "mnist") -> list[Path]:
    """The saved versions of data/06_models/<dataset>/<name>.keras, oldest first (Kedro's
    timestamps)."""
    folder = project / "data" / "06_models" / dataset / f"{name}.keras"
    return sorted(version / f"{name}.keras" for version in folder.iterdir())


def judge_files(project: Path, dataset: str = "mnist") -> list[str]:
    """The names of the judge's files (``<name>.keras`` and its card ``<name>.json``)."""
    return sorted(p.name for p in (project / "data" / "06_models" / dataset).glob("*judge*"))


def digest(path: Path) -> str:
    """The SHA-256 of a file's bytes: to show a refused file was left as it was."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def write_locked(store: Path) -> Iterator[None]:
    """Another process holds the write lock on the SQLite file ``store`` (as a `sqlite3` shell
    mid-transaction would) until the block ends."""
    code = (
        "import sqlite3, time\n"
        f"db = sqlite3.connect({str(store)!r}, isolation_level=None)\n"
        "db.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(600)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


# --- small models -----------------------------------------------------------------------------


BATCH = 32  # images per test batch


def make_wgan(critic_lr=5e-5, generator_lr=5e-5, clip_value=0.1, n_critic=1, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    wgan = WGAN(
        build_generator(100), build_critic(), latent_dim=100, clip_value=clip_value,
        n_critic=n_critic, seed=seed, **kwargs,
    )  # fmt: skip
    wgan.compile(keras.optimizers.RMSprop(critic_lr), keras.optimizers.RMSprop(generator_lr))
    return wgan


def tiny_training(**overrides) -> TrainingParams:
    """conf/base's training parameters for a few-second run: 2 epochs of batch 8."""
    values = {"batch_size": 8, "epochs": 2, "grid_rows": 1, "latent_dim": 100}
    return TrainingParams(**base_params("training", **values | overrides))


def real_batch(n=BATCH, seed=0):
    """Stroke-like real images: mostly -1 background with +1 bars, unlike untrained G output."""
    rng = np.random.default_rng(seed)
    images = -np.ones((n, 28, 28, 1), np.float32)
    for i in range(n):
        row = rng.integers(4, 20)
        images[i, row : row + 6, 6:22] = 1.0
    return images


STEP_BATCH, LATENT, STEPS = 8, 100, 6


class FixedNoiseWGAN(WGAN):
    """The WGAN with its two random draws replaced by fixed arrays, the same on every backend."""

    def sample_noise(self, batch_size, seed=None):
        rng = np.random.default_rng(1)
        return ops.convert_to_tensor(rng.uniform(-1, 1, (batch_size, LATENT)).astype("float32"))

    def interpolation_weights(self, batch_size, seed=None):
        rng = np.random.default_rng(2)
        return ops.convert_to_tensor(rng.uniform(0, 1, (batch_size, 1, 1, 1)).astype("float32"))


def backend_steps(
    out: str, constraint: str, steps_per_execution: str = "1", normalization: str = "none"
) -> None:
    """The WGAN's first steps from fixed weights, noise and batches on the Keras backend that
    KERAS_BACKEND names; writes the weights and losses after them to ``out`` (.npz). Run in a
    subprocess per backend by tests/test_jax_backend.py, which compares the files. With
    ``normalization`` "batch", the networks are batch-normalized dcgan ones of width 8, and
    ``moving_before`` and ``moving`` hold their moving statistics (in ``before`` and ``after``
    too)."""
    if normalization == "batch":
        networks = (
            build_generator(LATENT, architecture="dcgan", width=8, normalization="batch"),
            build_critic(architecture="dcgan", width=8, normalization="batch"),
        )
    else:
        networks = (build_generator(LATENT, fused_upsampling=True), build_critic())
    wgan = FixedNoiseWGAN(*networks, latent_dim=LATENT, constraint=constraint, clip_value=0.05,
                          n_critic=2)  # fmt: skip
    rng = np.random.default_rng(0)
    for weight in wgan.trainable_weights:  # the moving statistics start at Keras' 0 and 1
        weight.assign(rng.normal(0, 0.05, weight.shape).astype("float32"))

    def flat(weights) -> np.ndarray:
        return np.concatenate(
            [ops.convert_to_numpy(w).ravel() for w in weights] or [np.zeros(0)]
        ).astype("float64")

    moving = [w for w in wgan.weights if "moving" in w.path]
    before, moving_before = flat(wgan.weights), flat(moving)
    # SGD: updates linear in the gradients, so the backends' float rounding stays that small
    wgan.compile(keras.optimizers.SGD(1e-2), keras.optimizers.SGD(1e-2),
                 steps_per_execution=int(steps_per_execution))  # fmt: skip
    images = rng.uniform(-1, 1, (STEPS * STEP_BATCH, 28, 28, 1)).astype("float32")
    history = wgan.fit(images, batch_size=STEP_BATCH, epochs=1, shuffle=False, verbose=0)
    np.savez(
        out,
        before=before,
        after=flat(wgan.weights),
        moving_before=moving_before,
        moving=flat(moving),
        critic_steps=int(wgan.critic_optimizer.iterations.numpy()),
        generator_steps=int(wgan.generator_optimizer.iterations.numpy()),
        **{name: np.array(values) for name, values in history.history.items()},
    )


def apt_install(package: str) -> None:
    """Debian's ``package`` via apt-get, one install at a time on this machine (pytest-xdist
    workers may want two at once; dpkg allows one), or skip saying why it cannot be installed."""
    import fcntl  # noqa: PLC0415 (POSIX only; apt-get is too)

    if not shutil.which("apt-get") or os.geteuid() != 0:
        pytest.skip(f"{package} is not installed and cannot be (needs root and apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with open("/tmp/wgan-pipeline-tests-apt.lock", "w") as lock:  # noqa: PTH123
        fcntl.flock(lock, fcntl.LOCK_EX)
        for args in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", package]):
            try:
                result = subprocess.run(args, env=env, capture_output=True, text=True,
                                        timeout=600, check=False)  # fmt: skip
            except subprocess.TimeoutExpired:
                pytest.skip(f"{package} cannot be installed: `{' '.join(args)}` took over 10 min")
            if result.returncode != 0:
                pytest.skip(f"{package} cannot be installed: `{' '.join(args)}` exited with "
                            f"{result.returncode}: {(result.stdout + result.stderr)[-1500:]}")  # fmt: skip
