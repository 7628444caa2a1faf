"""The registered model across runs: each run's kept generator a new version with its tags, the
champion alias moving only to a better one under the same judge, and re-judged when the judge
changed; loaded back from the registry (ours and kedro-mlflow's dataset, and plain MLflow)."""

import json
import re
import shutil
import sys
import tempfile

import keras
import mlflow
import numpy as np
import pandas as pd
import pytest
from kedro.io import DatasetError
from kedro_mlflow.io.models import MlflowModelRegistryDataset

from wgan_pipeline.datasets import MlflowGeneratorDataset
from wgan_pipeline.datasets.mlflow_generator import load_pyfunc
from wgan_pipeline.gan.images import unscale_images
from wgan_pipeline.gan.judge import classifier_identity, model_identity
from wgan_pipeline.gan.models import (
    build_classifier,
    build_generator,
    plain_generator,
)
from wgan_pipeline.params import DataParams, EvaluationParams, TrainingParams
from wgan_pipeline.pipelines.release.nodes import (
    describe_kept,
    describe_last,
    judge_champion,
    release_kept,
    release_last,
)
from wgan_pipeline.registry.provenance import ProvenanceError

from ..browser.helpers import free_port, running_server
from ..helpers import base_params, kedro_env, real_batch, use_fresh_mlflow_store

NAME = "wgan-generator"
EVALUATION = EvaluationParams(**base_params("evaluation", n_samples=40, n_reference=40,
                                            batch_size=40, judge_samples=20))  # fmt: skip
DATA = DataParams(dataset="mnist", max_train_images=None)
# What the release nodes tag every generator with, from params:training (conf/base's here).
IDENTITY = {"noise": "uniform", "latent_dim": 100, "architecture": "chapter"}


@pytest.fixture
def store(tmp_path):
    use_fresh_mlflow_store(tmp_path)
    return tmp_path


def generator(seed: int, name: str = "mnist_generator", latent_dim: int = 100) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = plain_generator(build_generator(latent_dim))
    model.name = name
    return model


def classifier(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return build_classifier(feature_dim=8)


def reference_images() -> dict:
    return {"x_test": unscale_images(np.concatenate([real_batch(20, seed=s) for s in (1, 2)]))}


def training_record(training: TrainingParams, kept: keras.Model, last: keras.Model) -> dict:
    """What train_wgan records of a 3-epoch run that kept epoch 2 (FID 4.0; the last, 6.0)."""
    return {
        "generator": {"identity": model_identity(kept), "epoch": 2, "source": "raw",
                      "judge_fid": 4.0},
        "generator_last": {"identity": model_identity(last), "epoch": 3, "source": "raw",
                           "judge_fid": 6.0},
        "dataset": "mnist",
        "training": training.model_dump(mode="json"),
    }  # fmt: skip


def evaluated(model: keras.Model, fid: float = 12.5) -> pd.DataFrame:
    """The evaluation's table of ``model`` (its generated and real rows)."""
    return pd.DataFrame([{"set": "generated", "fid": fid}, {"set": "real", "fid": 0.5}]).assign(
        generator=model_identity(model)
    )


def test_the_release_takes_the_settings_of_the_generators_own_training_not_its_runs(store):
    """The kept generator's tags say how it was trained (its record), whatever the release
    run's own params:training; a generator that its record or its evaluation do not describe
    (another run's files) is refused naming the command that evaluates it."""
    trained = TrainingParams(**base_params("training", epochs=3, seed=7))
    kept_one, last_one, other = generator(1), generator(2), generator(3)
    record = training_record(trained, kept_one, last_one)
    ours = TrainingParams(**base_params("training"))
    tags = describe_kept(evaluated(kept_one), record, kept_one, classifier(0), EVALUATION, ours)
    assert json.loads(tags["training"])["seed"] == 7 and tags["dataset"] == "mnist"
    assert (tags["epoch"], tags["judge_fid"], tags["fid"]) == (2, 4.0, 12.5)
    with pytest.raises(ProvenanceError, match="has no evaluation of its own") as refused:
        describe_kept(evaluated(other), record, kept_one, classifier(0), EVALUATION, ours)
    assert "--pipelines evaluation --params training.epochs=3,training.seed=7" in str(refused.value)
    with pytest.raises(ProvenanceError, match="stopped before it saved its record"):
        describe_kept(evaluated(other), record, other, classifier(0), EVALUATION, ours)
    with pytest.raises(ProvenanceError, match="stopped before it saved its record"):
        describe_last(record, other)


def a_run(model, fid, judge):
    """What the release pipeline does at the end of a `kedro run`: the kept generator with its
    tags, compared with the champion, registered. Returns its version and the verdict."""
    candidate = {"fid": fid, "judge": classifier_identity(judge), "judge_samples": 40,
                 "judge_seed": EVALUATION.seed, "epoch": 7, "source": "raw", **IDENTITY}  # fmt: skip
    registry = MlflowGeneratorDataset(registered_model_name=NAME)
    with mlflow.start_run() as run:
        judged = judge_champion(
            registry.load(), candidate, judge, reference_images(), EVALUATION, DATA
        )
        release = release_kept(model, candidate, judged)
        registry.save(release)
    tags = mlflow.MlflowClient().get_run(run.info.run_id).data.tags
    return tags["registered_version"], release, judged


def champion_version() -> str:
    return str(mlflow.MlflowClient().get_model_version_by_alias(NAME, "champion").version)


def test_the_champion_moves_only_to_a_better_generator_under_the_same_judge(store):
    judge = classifier(0)
    first, release, _ = a_run(generator(1), 50.0, judge)
    assert release["crown"] and champion_version() == first == "1"
    second, release, judged = a_run(generator(2), 40.0, judge)  # better: it moves
    assert judged == {"version": "1", "judge": classifier_identity(judge), "judge_samples": "40",
                      "judge_seed": str(EVALUATION.seed), "fid": 50.0, "rejudged": False}  # fmt: skip
    assert release["crown"] and champion_version() == second == "2"
    third, release, _ = a_run(generator(3), 45.0, judge)  # worse: it stays
    assert not release["crown"] and champion_version() == "2" and third == "3"
    version = mlflow.MlflowClient().get_model_version(NAME, "3")
    assert version.tags["fid"] == "45.0" and version.tags["epoch"] == "7"
    assert version.tags["judge"] == classifier_identity(judge)


def test_under_another_judge_the_champion_is_rejudged_before_it_is_compared(store):
    a_run(generator(1), 50.0, classifier(0))
    other = classifier(1)
    assert classifier_identity(other) != classifier_identity(classifier(0))
    # The champion's own 50.0 is not compared: it is judged again by the new judge, exactly as
    # the final evaluation judges a generator (its noise seed and count, the test features).
    version, release, judged = a_run(generator(2), 1e9, other)
    assert judged["rejudged"] and judged["judge"] == classifier_identity(other)
    assert judged["fid"] != 50.0 and np.isfinite(judged["fid"])
    assert not release["crown"] and "re-judged by this run's judge" in release["reason"]
    assert champion_version() == "1"
    version, release, _ = a_run(generator(3), judged["fid"] / 2, other)
    assert release["crown"] and champion_version() == version == "3"


def test_a_champion_that_cannot_be_rejudged_is_left_alone(store):
    a_run(generator(1, name="fashion_mnist_generator"), 50.0, classifier(0))  # another data set
    _, release, judged = a_run(generator(2), 1.0, classifier(1))
    assert not judged["rejudged"] and not release["crown"]
    assert "another judge" in release["reason"] and champion_version() == "1"


def test_the_champion_loads_from_the_catalog_and_from_plain_mlflow(store):
    model = generator(1)
    a_run(model, 50.0, classifier(0))
    noise = np.random.default_rng(0).uniform(-1, 1, (16, 100)).astype(np.float32)
    expected = unscale_images(model.predict(noise, verbose=0))
    from_catalog = MlflowModelRegistryDataset(model_name=NAME, alias="champion",
                                              flavor="mlflow.pyfunc").load()  # fmt: skip
    from_mlflow = mlflow.pyfunc.load_model(f"models:/{NAME}@champion", dst_path=str(store))
    for loaded in (from_catalog, from_mlflow):
        digits = loaded.predict(noise)
        assert digits.shape == (16, 28, 28) and digits.dtype == np.uint8
        assert np.abs(digits.astype(int) - expected).max() <= 1  # rounding at .5 may differ
    signature = from_mlflow.metadata.signature.to_dict()
    assert "float32" in signature["inputs"] and "[-1, 100]" in signature["inputs"]
    assert "uint8" in signature["outputs"] and "[-1, 28, 28]" in signature["outputs"]


def test_a_champion_kept_by_a_tracking_server_loads_without_leaving_a_copy(tmp_path, monkeypatch):
    """MLflow downloads a model a server keeps into a new temporary folder at each load, and
    keeps it: 27 MB left in /tmp by every run that compared with the chapter's champion."""
    port = free_port()
    args = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri",
            f"sqlite:///{tmp_path / 'mlflow.db'}", "--artifacts-destination",
            (tmp_path / "artifacts").as_uri(), "--serve-artifacts", "--host", "127.0.0.1",
            "--port", str(port), "--workers", "1"]  # fmt: skip
    env = {**kedro_env(), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    with running_server(args, tmp_path, tmp_path / "server.log", env) as server:
        uri = f"http://127.0.0.1:{port}"
        server.wait_for_http(f"{uri}/health", timeout=180)
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        a_run(generator(1), 50.0, classifier(0))
        temporary = tmp_path / "tmp"
        temporary.mkdir()
        monkeypatch.setattr(tempfile, "tempdir", str(temporary))
        champion = MlflowGeneratorDataset(registered_model_name=NAME).load()
    assert champion["version"] == "1"
    assert champion["generator"](np.zeros((2, 100), np.float32)).shape == (2, 28, 28, 1)
    assert list(temporary.iterdir()) == []


def test_the_last_generator_is_logged_with_its_epoch_not_registered(store):
    training = TrainingParams(**base_params("training", epochs=3))
    kept_one, last_one = generator(1), generator(2)
    record = training_record(training, kept_one, last_one)
    tags = describe_last(record, last_one)
    assert tags == {"epoch": 3, "source": "raw", "judge_fid": 6.0, **IDENTITY}
    kept = describe_kept(evaluated(kept_one), record, kept_one, classifier(0), EVALUATION,
                         training)  # fmt: skip
    assert (kept["fid"], kept["epoch"], kept["judge_fid"], kept["judge_samples"]) == (
        12.5,
        2,
        4.0,
        40,
    )
    with mlflow.start_run() as run:
        MlflowGeneratorDataset(name="generator_last").save({"model": last_one, "tags": tags})
    (logged,) = mlflow.search_logged_models(filter_string=f"source_run_id = '{run.info.run_id}'",
                                            output_format="list")  # fmt: skip
    assert logged.name == "generator_last" and logged.tags["epoch"] == "3"
    assert mlflow.MlflowClient().search_registered_models() == []


def _delete_champion_version() -> str:
    version = champion_version()
    mlflow.MlflowClient().delete_model_version(NAME, version)
    return version


def _delete_champion_files() -> str:
    client = mlflow.MlflowClient()
    version = client.get_model_version_by_alias(NAME, "champion")
    model_id = version.source.removeprefix("models:/")
    location = mlflow.get_logged_model(model_id).artifact_location
    shutil.rmtree(location.removeprefix("file://"))
    return str(version.version)


def _register_without_alias() -> str:
    """A run killed between registering its version and moving the alias (the first run)."""
    with mlflow.start_run():
        MlflowGeneratorDataset(registered_model_name=NAME).save(
            {
                "model": generator(9),
                "tags": {"fid": 1.0, **IDENTITY},
                "crown": False,
                "reason": "killed",
            }
        )
    return "1"


@pytest.mark.parametrize(
    "break_registry", [_delete_champion_version, _delete_champion_files, _register_without_alias]
)
def test_a_dangling_champion_is_no_champion_and_the_next_run_mends_the_registry(
    store, caplog, break_registry
):
    """MLflow answers a deleted alias' version with INVALID_PARAMETER_VALUE, a version whose
    files are gone with an artifact error: every later run failed after training."""
    if break_registry is not _register_without_alias:
        a_run(generator(1), 50.0, classifier(0))
    broken = break_registry()
    with caplog.at_level("WARNING"):
        version, release, judged = a_run(generator(2), 60.0, classifier(0))  # worse, all the same
    assert judged == {} and release["crown"] and champion_version() == version != broken
    if break_registry is not _register_without_alias:
        assert f"{NAME}'s champion" in caplog.text
        assert "treated as no comparable champion" in caplog.text
    _, release, judged = a_run(generator(3), 70.0, classifier(0))  # mended: compared again
    assert judged["version"] == version and not release["crown"]


def test_each_logged_generator_says_the_noise_latent_size_and_architecture_it_was_trained_with(
    store, caplog
):
    """Both generators a run logs carry its own params:training's noise, latent size and
    architecture as tags, and the noise as the config they are served with (the last one's
    used to fall back to normal noise whatever the run trained on, and MLflow then refused to
    log the run's `noise` twice)."""
    training = TrainingParams(**base_params("training", epochs=3, latent_dim=16))
    kept_one, last_one = generator(1, latent_dim=16), generator(2, latent_dim=16)
    record = training_record(training, kept_one, last_one)
    kept = describe_kept(evaluated(kept_one), record, kept_one, classifier(0), EVALUATION,
                         TrainingParams(**base_params("training")))  # fmt: skip
    with caplog.at_level("WARNING"), mlflow.start_run() as run:
        MlflowGeneratorDataset(registered_model_name=NAME).save(release_kept(kept_one, kept, {}))
        MlflowGeneratorDataset(name="generator_last").save(
            release_last(last_one, describe_last(record, last_one))
        )
    assert "Failed to log model config" not in caplog.text
    models = mlflow.search_logged_models(filter_string=f"source_run_id = '{run.info.run_id}'",
                                         output_format="list")  # fmt: skip
    assert sorted(model.name for model in models) == ["generator", "generator_last"]
    run_params = mlflow.get_run(run.info.run_id).data.params
    for model in models:
        trained = (training.noise, str(training.latent_dim), training.architecture)
        tags = model.tags
        assert (tags["noise"], tags["latent_dim"], tags["architecture"]) == trained, model.name
        served = load_pyfunc(f"models:/{model.model_id}")
        assert served.model_config == {"noise": training.noise}, model.name
        assert served.unwrap_python_model().noise == training.noise == run_params["noise"]
    version = mlflow.MlflowClient().get_model_version(NAME, "1")
    assert (version.tags["noise"], version.tags["latent_dim"]) == (training.noise, "16")


@pytest.mark.parametrize(
    ("tags", "says"),
    [
        ({"epoch": 3}, "lack ['noise', 'latent_dim', 'architecture']"),
        ({**IDENTITY, "latent_dim": 64}, "takes noise of size 100, but this run's"),
    ],
    ids=["no-identity", "another-latent-size"],
)
def test_a_generator_whose_tags_do_not_say_what_it_is_is_refused(store, tags, says):
    with mlflow.start_run() as run, pytest.raises(DatasetError, match=re.escape(says)):
        MlflowGeneratorDataset(name="generator_last").save({"model": generator(1), "tags": tags})
    assert mlflow.search_logged_models(filter_string=f"source_run_id = '{run.info.run_id}'",
                                       output_format="list") == []  # fmt: skip
