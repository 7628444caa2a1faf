"""The layout's rules, checked: the GAN library imports without Kedro and MLflow, and no
pipeline imports another (shared code lives in gan/, training_run/ or params.py)."""

import ast
import subprocess
import sys

import pytest

from .helpers import PROJECT_ROOT

SRC = PROJECT_ROOT / "src" / "wgan_pipeline"
CORE = ["images", "metrics", "errors", "layers", "models", "wgan", "jax_adapter"]

BLOCKED = """
import sys
class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"kedro", "kedro_datasets", "kedro_mlflow", "mlflow"}:
            raise ImportError(f"{name} is blocked: the GAN library must not need it")
sys.meta_path.insert(0, Blocked())
"""


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_the_gan_library_imports_with_kedro_and_mlflow_blocked(backend):
    if backend == "jax":
        pytest.importorskip("jax")
    code = (
        BLOCKED
        + "".join(f"import wgan_pipeline.gan.{m}\n" for m in CORE)
        + (
            "from wgan_pipeline.gan.models import build_critic, build_generator\n"
            "from wgan_pipeline.gan.wgan import WGAN\n"
            "WGAN(build_generator(8), build_critic(), latent_dim=8)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in {'kedro', 'mlflow'}))\n"
        )
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=300,
        env={"KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def imported_modules(path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names |= {base, *(f"{base}.{alias.name}" for alias in node.names)}
    return names


def test_no_pipeline_imports_another():
    pipelines = sorted(p.name for p in (SRC / "pipelines").iterdir() if (p / "nodes.py").exists())
    assert len(pipelines) == 6
    for name in pipelines:
        for module in (SRC / "pipelines" / name).glob("*.py"):
            for imported in imported_modules(module):
                for other in set(pipelines) - {name}:
                    assert f"pipelines.{other}" not in imported and not imported.startswith(
                        f"..{other}"
                    ), f"{module.relative_to(SRC)} imports pipelines/{other}"


def test_the_library_imports_nothing_of_the_workflow():
    for module in (SRC / "gan").glob("*.py"):
        for imported in imported_modules(module):
            assert not imported.startswith(("wgan_pipeline.pipelines", "wgan_pipeline.training_run",
                                            "wgan_pipeline.hooks", "tensorflow.data")), module  # fmt: skip


def test_no_test_module_imports_another():
    for module in PROJECT_ROOT.joinpath("tests").rglob("*.py"):
        for imported in imported_modules(module):
            leaf = imported.lstrip(".").split(".")[-1]
            assert not leaf.startswith("test_") and "conftest" not in imported, (module, imported)


def test_only_the_lifecycle_module_installs_signal_handlers():
    """What a stop does is read in one place: wgan_pipeline/lifecycle.py."""
    installing = set()
    for module in SRC.rglob("*.py"):
        for call in ast.walk(ast.parse(module.read_text())):
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "signal" and getattr(call.func.value, "id", "") == "signal"):  # fmt: skip
                installing.add(str(module.relative_to(SRC)))
    assert installing == {"lifecycle.py"}
