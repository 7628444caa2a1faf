"""End to end: the real `kedro run` CLI in a fresh copy of the project, on the tiny `test` env."""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from pathlib import Path

import keras
import mlflow
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from wgan_pipeline.gan.images import latent_noise, unscale_images

from .helpers import (
    CONSOLE,
    TEST_EXPERIMENT,
    TEST_MODEL,
    USER_EXPERIMENT,
    USER_MODEL,
    base_params,
    digest,
    judge_files,
    kedro,
    kedro_imports,
    make_project_copy,
    model_versions,
    python_without_project,
    trained_project,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    return trained_project(tmp_path_factory.mktemp("e2e"))


def test_kedro_run_writes_models_that_load_without_the_project(finished_run, tmp_path):
    (generator,) = model_versions(finished_run, "generator")
    (critic,) = model_versions(finished_run, "critic")
    out = python_without_project(
        "import keras, numpy as np\n"
        f"g = keras.saving.load_model({str(generator)!r}, safe_mode=True)\n"
        f"d = keras.saving.load_model({str(critic)!r}, safe_mode=True)\n"
        "print(g.count_params(), d.count_params(), g.output_shape)\n"
        "print(max(float(np.abs(w).max()) for w in d.get_weights()))\n",
        cwd=tmp_path,
    )
    counts, max_weight = out.strip().splitlines()
    assert counts == "6738689 23873 (None, 28, 28, 1)"
    assert float(max_weight) <= np.float32(0.1)  # conf/base: clip_value 0.1


def test_the_console_tells_the_runs_story_and_nothing_else(finished_run):
    """No TensorFlow C++ line, no Python warning, no traceback, no per-dataset line; an epoch a
    line; the last lines say what was kept, how good it is, where the digits are and which
    MLflow run holds them."""
    lines = (finished_run.parent / CONSOLE).read_text().splitlines()
    text = "\n".join(lines)
    assert len(lines) <= 30, text
    for noise in ("I0000", "E0000", "absl::InitializeLog", "Warning:", "Traceback",
                  "Loading data from", "Running node", "Downloading artifacts"):  # fmt: skip
        assert noise not in text, noise
    assert [line for line in lines if "epoch 1/2 · FID " in line or "epoch 2/2 · FID " in line]
    kept, targets, digits, run = lines[-4:]
    assert "Kept epoch " in kept and " on 100 samples by judge " in kept
    assert "Targets met: " in targets and "of 4 (FID ≤ 3× floor " in targets
    assert "Digits: data/08_reporting/sample_grid.png" in digits
    assert "MLflow run '" in run and "http://127.0.0.1:5000/#/experiments/" in run


def test_a_mistyped_key_is_refused_in_a_few_lines_naming_the_key_it_meant(tmp_path):
    project = make_project_copy(tmp_path, with_mnist=False)
    result = kedro(project, "run", "--params", "training.clip_vaule=0.01", verbose=False)
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode != 0
    assert len(lines) <= 10, lines
    assert "unknown key(s) ['clip_vaule'] (did you mean 'clip_value'?)" in lines[-1]
    assert lines[-1].startswith("Error: ") and "Traceback" not in "\n".join(lines)


def test_offline_without_mnist_the_message_names_the_file_to_place(tmp_path):
    """The download fails before the MLflow run opens: no FAILED run is left behind."""
    project = make_project_copy(tmp_path, with_mnist=False)
    with socket.socket() as closed:  # a port nothing listens on: refused at once
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    (project / "conf" / "offline").mkdir()
    (project / "conf" / "offline" / "catalog.yml").write_text(
        "raw_images:\n  type: wgan_pipeline.datasets.LabelledImagesDataset\n  dataset: mnist\n"
        f"  path: data/01_raw\n  mnist_url: http://127.0.0.1:{port}/mnist.npz\n"
    )
    result = kedro(project, "run", "--env", "offline", verbose=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Could not download MNIST" in output and "data/01_raw/mnist.npz by hand" in output
    assert "Traceback" not in output
    with sqlite3.connect(project / "mlflow.db") as db:
        assert db.execute("select count(*) from runs").fetchone() == (0,)


def test_a_pipeline_alone_that_needs_what_another_keeps_in_memory_is_refused(tmp_path):
    project = make_project_copy(tmp_path, with_mnist=False)
    result = kedro(project, "run", "--env", "test", "--pipelines", "training", verbose=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "training needs ['training_images'], which a run keeps in memory" in output
    assert "`kedro run --pipelines data_processing,training`" in output
    assert "Traceback" not in output
    with sqlite3.connect(project / "mlflow.db") as db:  # refused before the run opened
        assert db.execute("select count(*) from runs").fetchone() == (0,)


def test_kedro_run_writes_samples_grid_and_history(finished_run):
    samples = np.load(finished_run / "data" / "07_model_output" / "generated_samples.npy")
    assert samples.shape == (100, 28, 28) and samples.dtype == np.uint8  # conf/test
    grid = Image.open(finished_run / "data" / "08_reporting" / "sample_grid.png")
    assert grid.size == ((4 * 30 + 2) * 2,) * 2
    history = (finished_run / "data" / "08_reporting" / "training_history.csv").read_text()
    assert history.splitlines()[0].startswith("epoch,")
    assert len(history.splitlines()) == 1 + 2  # header + 2 epochs


def test_kedro_run_judges_the_samples_against_real_and_noise(finished_run):
    """The evaluation table: generated, real (floor) and noise (ceiling) rows, judged by the
    classifier the run trained and saved; and its pictures."""
    reporting = finished_run / "data" / "08_reporting"
    metrics = pd.read_csv(reporting / "mnist" / "evaluation_metrics.csv").set_index("set")
    assert list(metrics.index) == ["generated", "real", "noise"]
    assert list(metrics["images"]) == [100, 100, 100]  # conf/test
    assert metrics.loc["real", "fid"] < metrics.loc["noise", "fid"]
    shares = metrics[[f"share_{d}" for d in range(10)]].sum(axis=1)
    np.testing.assert_allclose(shares, 1.0, atol=1e-9)
    assert judge_files(finished_run) == ["test_judge.json", "test_judge.keras"]
    for picture in ("class_histogram", "wasserstein_curve", "loss_curves",
                    "latent_interpolation", "training_progress"):  # fmt: skip
        assert Image.open(reporting / f"{picture}.png").size > (100, 100), picture


def test_kedro_run_is_one_finished_mlflow_run(finished_run):
    store = f"sqlite:///{finished_run / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=store, registry_uri=store)
    (experiment,) = [e for e in client.search_experiments() if e.name == TEST_EXPERIMENT]
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.info.artifact_uri.startswith((finished_run / "mlruns").as_uri())

    params = run.data.params
    assert params["training.clip_value"] == "0.1" and params["training.epochs"] == "2"
    assert params["data.max_train_images"] == "200" and params["training.n_critic"] == "1"
    tags = run.data.tags
    assert tags["kedro_env"] == "test" and len(tags["git_commit"]) == 40
    assert tags["devices"]  # the backend's devices, logged before any node
    # the judge that produced every number: its card, and the settings it was trained with
    card = json.loads((finished_run / "data/06_models/mnist/test_judge.json").read_text())
    assert params["judge.name"] == "test_judge" and params["judge.hash"] == card["hash"]
    assert float(params["judge.test_accuracy"]) == pytest.approx(card["test_accuracy"])
    assert params["classifier.epochs"] == "1" == str(card["settings"]["epochs"])  # conf/test

    for name in ("critic_loss", "generator_loss", "wasserstein_estimate"):
        history = client.get_metric_history(run.info.run_id, name)
        assert [m.step for m in history] == [1, 2], name
        assert all(np.isfinite(m.value) for m in history)

    evaluation = {k: v for k, v in run.data.metrics.items() if k.startswith("eval.")}
    for name in ("fid", "mnist_score", "precision", "recall", "density", "coverage"):
        assert {f"eval.{s}.{name}" for s in ("generated", "real", "noise")} <= set(evaluation)
    assert 0 < evaluation["eval.generated.classifier_test_accuracy"] <= 1

    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"sample_grid.png", "training_history.csv", "training_steps.csv", "samples",
            "evaluation_metrics.csv", "class_histogram.png", "wasserstein_curve.png", "loss_curves.png",
            "latent_interpolation.png", "training_progress.png"} <= artifacts  # fmt: skip
    epochs = {a.path for a in client.list_artifacts(run.info.run_id, "samples")}
    assert epochs == {"samples/epoch_001.png", "samples/epoch_002.png"}

    # Judged after each epoch by the evaluation's classifier; the kept one (the latest within
    # evaluation.keep_within of the lowest FID) registered.
    fids = client.get_metric_history(run.info.run_id, "judge.fid")
    assert [m.step for m in fids] == [1, 2] and all(np.isfinite(m.value) for m in fids)
    within = 1 + base_params("evaluation")["keep_within"]
    best = [m for m in fids if m.value <= min(m.value for m in fids) * within][-1]
    assert run.data.metrics["best_epoch"] == best.step
    assert {"judge_history.csv", "judge_curve.png"} <= artifacts
    models = {m.name: m for m in client.search_logged_models([experiment.experiment_id])}
    assert set(models) == {"generator", "generator_last"}
    assert models["generator"].source_run_id == run.info.run_id
    assert models["generator"].tags["epoch"] == str(best.step)
    assert models["generator_last"].tags["epoch"] == "2"
    mlmodel = mlflow.models.Model.load(
        mlflow.artifacts.download_artifacts(f"{models['generator'].artifact_location}/MLmodel")
    )
    (noise,), (images,) = mlmodel.signature.inputs.inputs, mlmodel.signature.outputs.inputs
    assert noise.shape == (-1, 100) and images.shape == (-1, 28, 28)
    assert (noise.type, images.type) == (np.dtype("float32"), np.dtype("uint8"))
    assert mlmodel.saved_input_example_info is not None
    champion = client.get_model_version_by_alias(TEST_MODEL, "champion")
    assert champion.run_id == run.info.run_id and champion.tags["epoch"] == str(best.step)
    assert champion.tags["fid"] == str(run.data.metrics["eval.generated.fid"])
    assert len(champion.tags["judge"]) == 16 and champion.tags["judge_samples"] == "100"
    assert run.data.tags["champion"].startswith("No champion yet")


def test_the_mlflow_run_tells_what_it_is_at_a_glance(finished_run):
    """The experiment opens on its runs (machine learning, not GenAI) with a description; the
    run is named after its env, says the command that ran in readable tags, has MNIST as its
    input, its digits as step-indexed images, its headline metrics and its result as its
    description; both logged generators say the noise, latent size and architecture the run
    trained them with."""
    store = f"sqlite:///{finished_run / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=store, registry_uri=store)
    experiment = client.get_experiment_by_name(TEST_EXPERIMENT)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert "kedro run --env test" in experiment.tags["mlflow.note.content"]
    run = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])[0]

    assert run.info.run_name == "test"  # conf/test, no --params
    tags = run.data.tags
    assert tags["kedro_command"] == "kedro run --env test" and tags["runner"] == "SequentialRunner"
    assert "env" not in tags and not [k for k, v in tags.items() if " object at 0x" in v]

    (used,) = run.inputs.dataset_inputs
    assert used.dataset.name == "mnist" and used.dataset.digest
    assert json.loads(used.dataset.source)["uri"] == str(finished_run / "data/01_raw/mnist.npz")
    assert {t.key: t.value for t in used.tags}["mlflow.data.context"] == "training"

    images = [a.path for a in client.list_artifacts(run.info.run_id, "images")]
    for step in (1, 2):  # each epoch's grid, full size and the UI's compressed copy
        assert len([p for p in images if p.startswith(f"images/samples+step+{step}+")]) == 2

    metrics = run.data.metrics
    assert metrics["FID"] == metrics["eval.generated.fid"]
    assert metrics["Precision"] == metrics["eval.generated.precision"]
    assert metrics["Recall"] == metrics["eval.generated.recall"]
    assert metrics["Targets met"] in {0, 1, 2, 3, 4}
    assert metrics["Kept epoch"] == metrics["best_epoch"]
    description = tags["mlflow.note.content"]
    assert description.startswith(f"Kept epoch {int(metrics['best_epoch'])}: FID ")
    assert f"Targets met: {int(metrics['Targets met'])} of 4" in description

    params = run.data.params
    trained = tuple(params[f"training.{key}"] for key in ("noise", "latent_dim", "architecture"))
    models = client.search_logged_models([experiment.experiment_id])
    assert sorted(m.name for m in models if m.source_run_id == run.info.run_id) == [
        "generator",
        "generator_last",
    ]
    for model in models:
        said = tuple(model.tags[key] for key in ("noise", "latent_dim", "architecture"))
        assert said == trained, model.name
    assert params["noise"] == params["training.noise"]  # the models' config, logged by MLflow


def test_a_test_run_leaves_the_projects_experiment_and_registered_model_alone(finished_run):
    """`--env test` tracks to its own experiment and registers its own model (conf/test): the
    project's experiment and registered model hold nothing of it."""
    store = f"sqlite:///{finished_run / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=store, registry_uri=store)
    users = client.get_experiment_by_name(USER_EXPERIMENT)
    if users is not None:  # kedro-mlflow creates it for a run of another env, even a refused one
        assert client.search_runs([users.experiment_id]) == []
        assert client.search_logged_models([users.experiment_id]) == []
    assert client.search_registered_models(f"name = '{USER_MODEL}'") == []
    assert client.get_registered_model(TEST_MODEL).aliases["champion"]


def test_mlflow_store_is_at_the_project_root(finished_run):
    with sqlite3.connect(finished_run / "mlflow.db") as db:
        assert db.execute("select count(*) from runs").fetchone() == (1,)
    assert not (finished_run / "conf" / "mlflow.db").exists()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ("training.epochs=0", ["training", "epochs", "greater than or equal to 1"]),
        ("training.epoch=3", ["unknown key(s) ['epoch']", "'epochs'"]),
        # Valid alone, but they failed late (after training) or were taken (issue 16, case 5):
        ("training.seed=4294967296", ["training", "seed", "less than or equal to 4294967295"]),
        ("evaluation.n_samples=5", ["evaluation.n_samples", "evaluation.score_splits"]),
        ("training.clip_value=.inf", ["training", "clip_value", "finite number"]),
        # Fails after training otherwise ("Unable to allocate 745 GiB"): bounded up front
        (
            "evaluation.n_samples=1000000000",
            ["evaluation.n_samples", "less than or equal to 100000"],
        ),
        # every size bounded: one call over all images at once is GBs of activations
        (
            "evaluation.batch_size=1000000000",
            ["evaluation.batch_size", "less than or equal to 10000"],
        ),
    ],
)
def test_bad_parameters_stop_the_run_before_any_node(tmp_path, params, expected):
    """Within seconds: refused before Kedro imports the pipelines, and with them TensorFlow."""
    project = make_project_copy(tmp_path, with_mnist=False)
    result, heavy = kedro_imports(project, "run", "--env", "test", "--params", params)
    output = " ".join((result.stdout + result.stderr).split())  # undo rich's line wrapping
    assert result.returncode != 0
    assert heavy == "heavy imports: []"
    assert "Parameter validation failed" in output
    for text in expected:
        assert text in output
    assert "Running node" not in output
    assert not any((project / "data").rglob("*.*"))  # nothing downloaded or written


def test_an_unreachable_tracking_server_stops_the_run_at_once(tmp_path):
    """mlflow.yml naming a server that does not answer: a clear message within seconds, before
    any node (MLflow alone retries for minutes, then prints a stack of HTTP errors)."""
    project = make_project_copy(tmp_path)
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (project / "conf" / "test" / "mlflow.yml").write_text(
        f"server:\n  mlflow_tracking_uri: http://127.0.0.1:{port}\n"
    )
    start = time.monotonic()
    result = kedro(project, "run", "--env", "test", timeout=120)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert f"The MLflow tracking server http://127.0.0.1:{port} does not answer" in output
    assert "server.mlflow_tracking_uri" in output  # what to change
    assert time.monotonic() - start < 60
    assert "Running node" not in output
    assert not any((project / "data" / "06_models").iterdir())


def test_slices_reuse_what_the_run_wrote(finished_run):
    """`--pipelines evaluation` reads the saved generator, `--pipelines release` the saved
    generators, metrics and judge history, `--nodes reporting.make_sample_grid` the saved
    samples; the environment's overrides keep every other key of conf/base (soft merge). Runs
    last: it adds MLflow runs to the store the tests above count."""
    for args in (["--pipelines", "evaluation"], ["--pipelines", "release"],
                 ["--nodes", "reporting.make_sample_grid"]):  # fmt: skip
        result = kedro(finished_run, "run", "--env", "test", *args)
        assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]


def test_a_second_run_keeps_the_first_runs_models(finished_run):
    """Models are versioned: a second training run (`--pipelines gan`, which reuses the saved
    classifier) adds a version beside the first run's and never overwrites it; its evaluation
    judges the new generator, the latest version."""
    first = {name: model_versions(finished_run, name)[0].read_bytes()
             for name in ("generator", "generator_last", "critic")}  # fmt: skip
    result = kedro(finished_run, "run", "--env", "test", "--pipelines", "gan",
                   "--params", "training.seed=1")  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    for name, content in first.items():
        versions = model_versions(finished_run, name)
        assert len(versions) == 2, name
        assert versions[0].read_bytes() == content  # the first run's file, untouched
    assert judge_files(finished_run) == ["test_judge.json", "test_judge.keras"]
    samples = np.load(finished_run / "data" / "07_model_output" / "generated_samples.npy")
    noise = latent_noise(100, 100, "uniform", seed=1234)  # conf/test's evaluation
    for version, judged in zip(model_versions(finished_run, "generator"), (False, True)):
        generator = keras.saving.load_model(version, safe_mode=True)
        drawn = unscale_images(generator.predict(noise, batch_size=100, verbose=0))
        assert (np.mean(drawn != samples) < 0.01) == judged, version  # rounding ties aside


def test_a_bad_mnist_file_stops_the_run_and_is_kept(tmp_path):
    """A truncated data/01_raw/mnist.npz: exit non-zero, a message naming the file, the fault
    and the fix, and the file exactly as it was (never downloaded over)."""
    project = make_project_copy(tmp_path)
    raw = project / "data" / "01_raw" / "mnist.npz"
    raw.write_bytes(raw.read_bytes()[:1000])
    before = raw.read_bytes()
    result = kedro(project, "run", "--env", "test", timeout=120)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "data/01_raw/mnist.npz" in output and "truncated" in output
    assert "Delete or move it away" in output
    assert raw.read_bytes() == before
    assert not any((project / "data" / "06_models").iterdir())


def test_every_run_logs_system_metrics(finished_run):
    """conf/base/system_metrics.yml: MLflow samples CPU and memory while the run is open."""
    store = f"sqlite:///{finished_run / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=store)
    (experiment,) = [e for e in client.search_experiments() if e.name == TEST_EXPERIMENT]
    # the module's first run (later tests add more)
    run = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])[0]
    metrics = run.data.metrics
    assert 0 <= metrics["system/cpu_utilization_percentage"] <= 100 * 64
    assert metrics["system/system_memory_usage_megabytes"] > 0
    # one sampling thread: kedro-mlflow reopens the run before every node, and MLflow's own
    # switch would start one more monitor each time, logging the same steps again
    steps = [
        m.step
        for m in client.get_metric_history(run.info.run_id, "system/cpu_utilization_percentage")
    ]
    assert len(steps) == len(set(steps)), steps


def test_the_judge_is_one_per_data_set_and_no_env_replaces_it(finished_run):
    """`--env test` trained its own cheap judge (test_judge): a run of the default env finds no
    judge of its own and stops before any node, naming the command, instead of being judged
    by the test's; asking for other judge settings than the saved judge's is refused too.
    Neither leaves a file changed or an MLflow run."""
    before = {p: digest(p) for p in (finished_run / "data" / "06_models" / "mnist").glob("*judge*")}
    runs = mlflow_run_count(finished_run)

    gan = kedro(finished_run, "run", "--pipelines", "gan",
                "--params", "training.epochs=1,data.max_train_images=1000")  # fmt: skip
    output = " ".join((gan.stdout + gan.stderr).split())
    assert gan.returncode != 0
    assert "data/06_models/mnist/judge.keras is missing" in output
    assert "`kedro run --pipelines classifier`" in output and "Nothing was run" in output
    assert "Running node" not in output

    other = kedro(finished_run, "run", "--env", "test", "--pipelines", "classifier",
                  "--params", "classifier.epochs=2")  # fmt: skip
    output = " ".join((other.stdout + other.stderr).split())
    assert other.returncode != 0
    assert "classifier.epochs: saved 1, asked 2" in output and "Running node" not in output

    assert {p: digest(p) for p in before} == before
    assert mlflow_run_count(finished_run) == runs


def mlflow_run_count(project: Path) -> int:
    with sqlite3.connect(project / "mlflow.db") as db:
        return db.execute("select count(*) from runs").fetchone()[0]
