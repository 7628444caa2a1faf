"""The registered pipelines, run with SequentialRunner on an in-memory catalog of tiny data."""

from graphlib import CycleError, TopologicalSorter

import keras
import numpy as np
import pandas as pd
import pytest
from kedro.framework.startup import bootstrap_project
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from wgan_pipeline.gan.judge import model_identity
from wgan_pipeline.gan.models import build_classifier
from wgan_pipeline.params import DataParams, EvaluationParams, TrainingParams
from wgan_pipeline.pipeline_registry import register_pipelines
from wgan_pipeline.training_run.run_folder import RunFolders

from ..helpers import PROJECT_ROOT, base_params

TRAINING = TrainingParams(
    **base_params("training", batch_size=16, epochs=2, clip_value=0.05, grid_rows=2)
)
EVALUATION = EvaluationParams(**base_params("evaluation",
    n_samples=30, grid_rows=3, batch_size=10, n_reference=20, interpolation_rows=2,
    interpolation_steps=3, progress_digits=2, curve_window=3, judge_samples=30,
))  # fmt: skip


CONF = PROJECT_ROOT / "conf"
# The data's flow, top to bottom in kedro-viz: each layer only feeds the ones after it.
LAYERS = ["raw", "model_input", "models", "model_output", "reporting", "release"]


@pytest.fixture(scope="module")
def pipelines():
    bootstrap_project(PROJECT_ROOT)  # find_pipelines needs the configured project
    return register_pipelines()


def catalog_config(env: str = "local") -> dict:
    """The catalog's entries as configured in conf/base and conf/``env``, not instantiated."""
    from kedro.config import OmegaConfigLoader  # noqa: PLC0415

    from wgan_pipeline.settings import CONFIG_LOADER_ARGS  # noqa: PLC0415

    return OmegaConfigLoader(str(CONF), **CONFIG_LOADER_ARGS, env=env)["catalog"]


def kedro_viz_layers(catalog: dict) -> dict[str, str]:
    """Each dataset's ``metadata: kedro-viz: layer:``."""
    return {
        name: entry["metadata"]["kedro-viz"]["layer"]
        for name, entry in catalog.items()
        if "layer" in (entry.get("metadata") or {}).get("kedro-viz", {})
    }


def layer_edges(pipeline, layers: dict[str, str]) -> dict[tuple[str, str], tuple[str, str]]:
    """As kedro-viz orders its layers: layer A comes before layer B when data flows from a
    dataset of A to one of B through any chain of nodes and unlayered datasets. Each edge
    ``(A, B)`` with one ``(dataset of A, dataset of B)`` that makes it."""
    after: dict[str, set[str]] = {}  # dataset -> the datasets one node downstream
    for node in pipeline.nodes:
        for name in node.inputs:
            after.setdefault(name, set()).update(node.outputs)
    edges = {}
    for start, start_layer in layers.items():
        seen, todo = set(), list(after.get(start, ()))
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            todo.extend(after.get(name, ()))
            if layers.get(name, start_layer) != start_layer:
                edges.setdefault((start_layer, layers[name]), (start, name))
    return edges


# Every environment that has a catalog of its own (conf/local for a user's overrides).
CATALOG_ENVS = sorted(
    {"local"} | {p.parent.name for p in CONF.glob("*/catalog*.yml") if p.parent.name != "base"}
)


@pytest.mark.parametrize("env", CATALOG_ENVS)
def test_kedro_viz_layers_follow_the_data_without_a_cycle(pipelines, env):
    """kedro-viz draws no layers at all ("circular dependency detected among layers") as soon as
    one dataset of a layer feeds, through any nodes, a dataset of an earlier layer."""
    catalog = catalog_config(env)
    layers = kedro_viz_layers(catalog)
    unlayered = sorted(name for name in catalog if name not in layers)
    assert not unlayered, f"catalog entries without a kedro-viz layer: {unlayered}"
    assert set(layers.values()) <= set(LAYERS), set(layers.values()) - set(LAYERS)
    for name, pipeline in pipelines.items():
        edges = layer_edges(pipeline, layers)
        graph: dict[str, set[str]] = {layer: set() for layer in set(layers.values())}
        for before, later in edges:
            graph[later].add(before)
        try:
            order = list(TopologicalSorter(graph).static_order())
        except CycleError as exc:
            cycle = exc.args[1]  # [A, B, ..., A]
            links = [f"{a} ({edges[a, b][0]}) feeds {b} ({edges[a, b][1]})" for a, b in
                     zip(cycle, cycle[1:])]  # fmt: skip
            pytest.fail(f"pipeline {name!r}: the layers form a cycle: {'; '.join(links)}")
        if name == "__default__":  # every layer is in it, each one feeding the next
            assert all((a, b) in edges for a, b in zip(LAYERS, LAYERS[1:])), edges
            assert order == LAYERS


def run(pipeline, inputs: dict, outputs: list[str]) -> dict:
    catalog = DataCatalog(
        # Keras models are not deep-copyable cheaply: hand everything over as it is.
        {name: MemoryDataset(value, copy_mode="assign") for name, value in inputs.items()}
        | {name: MemoryDataset(copy_mode="assign") for name in outputs}
    )
    SequentialRunner().run(pipeline, catalog)
    return {name: catalog.load(name) for name in outputs}


def test_default_pipeline_is_the_six_in_order(pipelines):
    assert {"data_processing", "training", "evaluation", "reporting", "release", "classifier",
            "gan"} <= set(pipelines)  # fmt: skip
    params = {"params:data", "params:training", "params:training.noise", "params:evaluation"}
    assert set(pipelines["__default__"].inputs()) == {
        "raw_images", "params:classifier", "saved_judge", "training_checkpoints", "champion",
        *params,
    }  # fmt: skip
    order = [node.name for node in pipelines["__default__"].nodes]
    # the judge is trained first: training is judged by the classifier of the evaluation
    assert order.index("classifier.train_classifier") < order.index("training.train_wgan")
    assert order.index("evaluation.score_sets") < order.index("release.release_kept")
    assert order.index("data_processing.scale_training_images") < order.index("training.train_wgan")
    assert order.index("training.train_wgan") < order.index("evaluation.generate_samples")
    assert order.index("classifier.train_classifier") < order.index("evaluation.extract_features")
    assert order.index("evaluation.score_sets") < order.index("reporting.plot_class_histogram")
    # one namespace per pipeline (kedro-viz groups by it); dataset names are not prefixed
    for name in ("data_processing", "classifier", "training", "reporting", "release"):
        assert {node.namespace for node in pipelines[name].nodes} == {name}
    # `--pipelines evaluation` judges the saved generator again, draws it and releases it
    evaluation = {node.namespace for node in pipelines["evaluation"].nodes}
    assert evaluation == {"evaluation", "reporting", "release"}
    assert "generator" in pipelines["training"].outputs()


def test_gan_pipeline_reuses_the_saved_classifier(pipelines):
    gan = pipelines["gan"]
    assert "classifier.train_classifier" not in {node.name for node in gan.nodes}
    assert "classifier" in gan.inputs()


def test_data_processing_slice(pipelines, tiny_mnist):
    out = run(
        pipelines["data_processing"],
        {"raw_images": tiny_mnist, "params:data": DataParams(dataset="mnist", max_train_images=48)},
        ["training_images"],
    )
    assert out["training_images"].shape == (48, 28, 28, 1)
    assert out["training_images"].dtype == np.float32


def test_data_processing_and_training_slice(pipelines, tiny_mnist, tmp_path):
    # Intermediate datasets are released once consumed: assert on the free outputs.
    out = run(
        pipelines["data_processing"] + pipelines["training"],
        {
            "raw_images": tiny_mnist,
            "params:data": DataParams(dataset="mnist", max_train_images=48),
            "params:training": TRAINING,
            "training_checkpoints": RunFolders(tmp_path),
            "classifier": build_classifier(feature_dim=8),
            "params:evaluation": EVALUATION,
        },  # fmt: skip
        ["generator", "generator_last", "critic", "training_history", "training_steps",
         "epoch_samples", "judge_history", "training_record"],
    )  # fmt: skip
    judged = out["judge_history"]  # judged after each of the 2 epochs, the best one kept
    assert list(judged["epoch"]) == [1, 2] and judged["kept"].sum() == 1
    # the latest judging within evaluation.keep_within of the lowest FID
    within = judged["fid"] <= judged["fid"].min() * (1 + EVALUATION.keep_within)
    assert judged.loc[judged["kept"]].index[0] == judged.index[within][-1]
    record = out["training_record"]  # what the release tags the generators with
    assert record["generator"]["identity"] == model_identity(out["generator"])
    assert record["generator_last"]["identity"] == model_identity(out["generator_last"])
    assert record["generator"]["epoch"] == judged.loc[judged["kept"], "epoch"].iloc[0]
    assert record["training"] == TRAINING.model_dump(mode="json")
    assert record["dataset"] == "mnist"
    assert isinstance(out["generator"], keras.Model) and isinstance(out["critic"], keras.Model)
    assert max(np.abs(w).max() for w in out["critic"].get_weights()) <= np.float32(0.05)
    history: pd.DataFrame = out["training_history"]
    assert list(history["epoch"]) == [1, 2]
    assert {"critic_loss", "generator_loss", "wasserstein_estimate", "epoch_seconds"} <= set(
        history
    )
    np.testing.assert_allclose(history["wasserstein_estimate"], -history["critic_loss"], rtol=1e-6)
    steps: pd.DataFrame = out["training_steps"]  # 48 images / 16 = 3 critic steps an epoch
    assert list(steps["critic_step"]) == [1, 2, 3, 4, 5, 6]
    assert list(steps["epoch"]) == [1, 1, 1, 2, 2, 2]
    np.testing.assert_allclose(
        steps.groupby("epoch")["wasserstein_estimate"].mean(), history["wasserstein_estimate"],
        rtol=1e-5,
    )  # fmt: skip
    assert out["epoch_samples"].shape == (2, 4, 28, 28) and out["epoch_samples"].dtype == np.uint8


@pytest.fixture
def small_generator():
    return keras.Sequential([keras.Input((100,)), keras.layers.Dense(784, activation="tanh"),
                             keras.layers.Reshape((28, 28, 1))])  # fmt: skip


def test_evaluation_and_reporting_slice(pipelines, small_generator, tiny_mnist):
    inputs = {
        "generator": small_generator,
        "classifier": build_classifier(feature_dim=8),
        "raw_images": tiny_mnist,
        "training_steps": pd.DataFrame(
            {"critic_step": [1, 2, 3], "epoch": [1, 1, 2], "wasserstein_estimate": [0.3, 0.2, 0.1]}
        ),
        "epoch_samples": np.zeros((2, 4, 28, 28), np.uint8),
        "training_history": pd.DataFrame(
            {
                "epoch": [1, 2],
                "critic_loss": [-0.3, -0.2],
                "generator_loss": [0.1, 0.2],
                "wasserstein_estimate": [0.3, 0.2],
            }
        ),
        "params:evaluation": EVALUATION,
        "params:training.noise": "normal",
        "params:data": DataParams(dataset="mnist", max_train_images=None),
        "judge_history": pd.DataFrame(
            {"epoch": [1, 2], "source": ["raw", "raw"], "fid": [90.0, 80.0], "kept": [False, True]}
        ),
    }
    evaluation = pipelines["evaluation"].only_nodes_with_namespaces(["evaluation", "reporting"])
    # evaluation_metrics is consumed (and released) inside the run: check its MLflow copy.
    outputs = ["sample_grid", "judge_curve", "evaluation_mlflow_metrics",
               "class_histogram", "wasserstein_curve", "latent_interpolation",
               "training_progress", "loss_curves"]  # fmt: skip
    out = run(evaluation, inputs, outputs)
    assert out["sample_grid"].size == ((3 * 30 + 2) * 2,) * 2
    metrics = out["evaluation_mlflow_metrics"]
    images = {name: metrics[f"{name}.images"]["value"] for name in ("generated", "real", "noise")}
    assert images == {"generated": 30, "real": 20, "noise": 20}
    for name in ("fid", "mnist_score", "precision", "recall", "density", "coverage"):
        assert np.isfinite(metrics[f"generated.{name}"]["value"])
    assert out["latent_interpolation"].size == ((3 * 30 + 2) * 2, (2 * 30 + 2) * 2)
    assert out["training_progress"].size == ((2 * 30 + 2) * 2,) * 2
    figures = ("class_histogram", "wasserstein_curve", "loss_curves", "judge_curve")
    assert {type(out[name]).__name__ for name in figures} == {"Figure"}

    samples = run(evaluation.only_nodes("evaluation.generate_samples"), inputs,
                  ["generated_samples"])["generated_samples"]  # fmt: skip
    assert samples.shape == (30, 28, 28) and samples.dtype == np.uint8


@pytest.mark.parametrize("name", ["reporting", "release"])
def test_reporting_and_release_run_alone_from_what_a_run_saved(pipelines, name):
    """Every input of `kedro run --pipelines reporting` or `--pipelines release` is a catalog
    entry (a file, the judge, the registry), none an in-memory result of another pipeline."""
    from kedro.config import OmegaConfigLoader  # noqa: PLC0415

    from wgan_pipeline.settings import CONFIG_LOADER_ARGS  # noqa: PLC0415

    catalog = OmegaConfigLoader(str(PROJECT_ROOT / "conf"), **CONFIG_LOADER_ARGS)["catalog"]
    inputs = {i for i in pipelines[name].inputs() if not i.startswith("params:")}
    assert inputs and inputs <= set(catalog), inputs - set(catalog)
