"""The project as a wheel, installed the way a user or a cluster node installs it: every module
is in it, and the installed package runs `kedro sweep` and a whole `--env test` run from the
packaged conf (Kedro's packaged-project route, `python -m wgan_pipeline --conf-source ...`)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from .helpers import PROJECT_ROOT, kedro_env, mnist_copy

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel `kedro package` would build, built without a network (no isolated build
    environment): setuptools from this environment."""
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert built.returncode == 0, (built.stdout + built.stderr)[-3000:]
    (found,) = out.glob("wgan_pipeline-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> dict[str, str]:
    """The wheel installed alone into a folder of its own, first on the path (before the
    editable checkout): the environment a command sees the packaged project with."""
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile",
         "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return {**kedro_env(), "PYTHONPATH": str(target)}


def test_the_wheel_holds_every_module_of_the_package(wheel):
    modules = {
        path.relative_to(PROJECT_ROOT / "src").as_posix()
        for path in (PROJECT_ROOT / "src" / "wgan_pipeline").rglob("*.py")
    }
    held = set(zipfile.ZipFile(wheel).namelist())
    assert "wgan_pipeline/sweep/driver.py" in held
    assert modules - held == set()


def test_the_installed_wheel_runs_kedro_sweep_and_a_run_from_the_packaged_conf(installed, tmp_path):
    # A worker's folder: the packaged conf, the project's pyproject.toml (Kedro finds its
    # commands through it), an empty src/, and MNIST; no code of the checkout.
    work = tmp_path / "work"
    (work / "src").mkdir(parents=True)
    (work / "data" / "01_raw").mkdir(parents=True)
    (work / "pyproject.toml").write_text((PROJECT_ROOT / "pyproject.toml").read_text())
    os.link(mnist_copy(), work / "data" / "01_raw" / "mnist.npz")
    conf = tmp_path / "conf-wgan_pipeline.tar.gz"
    with tarfile.open(conf, "w:gz") as archive:  # what `kedro package` writes
        archive.add(
            PROJECT_ROOT / "conf", "conf", filter=lambda m: None if "/local/" in m.name else m
        )

    def command(*args):
        return subprocess.run(
            [sys.executable, *args], cwd=work, env=installed, capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip

    sweep = command("-m", "kedro", "sweep", "--help")
    assert sweep.returncode == 0, (sweep.stdout + sweep.stderr)[-3000:]
    assert "Tune training.* keys" in sweep.stdout

    run = command("-m", "wgan_pipeline", "--conf-source", str(conf), "--env", "test")
    assert run.returncode == 0, (run.stdout + run.stderr)[-5000:]
    assert (work / "data" / "08_reporting" / "sample_grid.png").is_file()
    assert (work / "data" / "06_models" / "mnist" / "test_judge.keras").is_file()
    # the packaged code ran, not the checkout's
    assert (
        f"{installed['PYTHONPATH']}/wgan_pipeline"
        in command("-c", "import wgan_pipeline; print(wgan_pipeline.__file__)").stdout
    )
