"""Attacks from outside, through the real CLI: a kill while the outputs are saved, signals
during evaluation, a mistyped parameter group, an env that does not exist, a server that is not
MLflow, a locked store, a file where an output folder should be, a huge steps_per_execution, an
unreadable checkpoint."""

from __future__ import annotations

import fcntl
import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import keras
import mlflow
import numpy as np
import pandas as pd
import pytest

from wgan_pipeline.datasets.mlflow_generator import load_pyfunc
from wgan_pipeline.gan.models import build_critic, build_generator, plain_generator

from .helpers import (
    TEST_EXPERIMENT,
    TEST_MODEL,
    digest,
    judge_files,
    kedro,
    kedro_env,
    kept_mlflow_state,
    make_project_copy,
    model_versions,
    trained_project,
    write_locked,
)

pytestmark = pytest.mark.e2e


def start(project: Path, *args: str, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "kedro", "run", "--env", "test", *args]
    with log.open("w") as out:
        return subprocess.Popen(command, cwd=project, env=kedro_env(), stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip


def wait_for(condition, process: subprocess.Popen, what: str, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        assert process.poll() is None, f"the run ended before {what}"
        time.sleep(0.005)
    raise AssertionError(f"no {what} within {seconds} s")


def runs(project: Path) -> list:
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(TEST_EXPERIMENT)
    return client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])


@pytest.mark.timeout(600)
def test_a_kill_while_the_models_are_saved_loses_no_training(tmp_path):
    """SIGKILL the moment the generator's new version folder appears (its file being written):
    no partial file is a version, the final checkpoint survives, and the same command hands
    the trained networks on without training again; no MLflow run is left RUNNING."""
    project = make_project_copy(tmp_path)
    models = project / "data" / "06_models" / "mnist"
    process = start(project, log=tmp_path / "killed.log")
    wait_for(lambda: any((models / "generator.keras").glob("*/")), process, "a generator save")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    for version in models.glob("*.keras/*/[!.]*.keras"):  # a folder without its file: no version
        keras.saving.load_model(version, safe_mode=True)  # every version is whole
    assert list((models / "checkpoints").glob("run-*/step-*")), "the final checkpoint is gone"

    again = kedro(project, "run", "--env", "test")
    output = " ".join((again.stdout + again.stderr).split())
    assert again.returncode == 0, output[-5000:]
    assert "Training had finished in checkpoint" in output, output[-5000:]
    assert "epoch 1/2" not in output  # nothing trained again (FitProgress would say it)
    generator = model_versions(project, "generator")[-1]
    assert keras.saving.load_model(generator, safe_mode=True).output_shape == (None, 28, 28, 1)
    assert not list((models / "checkpoints").iterdir())
    assert not list(models.rglob(".*.partial-*"))
    assert [r.info.status for r in runs(project)] == ["KILLED", "FINISHED"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    return trained_project(tmp_path_factory.mktemp("trained"))


@pytest.mark.timeout(600)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_evaluation_ends_the_run_killed(trained, tmp_path, sig):
    """50,000 images judged (the test set, 20,000 real and 20,000 noise references; few
    generated, which would only lengthen the wait): long enough to stop mid-way. The run says so,
    exits non-zero and its MLflow run is KILLED, not FINISHED (SIGINT) or RUNNING forever
    (SIGTERM)."""
    log = tmp_path / "eval.log"
    big = "evaluation.n_samples=100,evaluation.n_reference=20000"
    before = len(runs(trained))
    process = start(trained, "--pipelines", "evaluation", "--params", big, log=log)
    started = re.compile(r"Running node: (evaluation\.)?extract_features")  # not "Completed"
    wait_for(lambda: started.search(log.read_text()), process, "evaluation")
    time.sleep(1)
    process.send_signal(sig)
    returncode = process.wait(timeout=120)
    text = log.read_text()  # on a crash, the Python stack of every thread (PYTHONFAULTHANDLER)
    assert returncode > 0, (
        f"the run died of signal {-returncode}, not a clean stop:\n{text[-8000:]}"
    )
    output = " ".join(text.split())
    assert f"kedro run stopped by {sig.name}" in output, output[-5000:]
    (stopped,) = runs(trained)[before:]
    assert stopped.info.status == "KILLED"


def test_a_mistyped_parameter_group_stops_the_run(trained):
    done = kedro(trained, "run", "--env", "test", "--params", "trainng.epochs=1")
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0
    assert (
        "Unknown parameter group(s) ['trainng'] (did you mean 'training'?): the groups are"
        in output
    ), output[-3000:]
    assert "Running node" not in output


def test_an_env_that_does_not_exist_is_named_with_those_that_do(trained):
    done = kedro(trained, "run", "--env", "nope")
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0
    assert "The Kedro environment 'nope' does not exist" in output, output[-3000:]
    assert (
        "['best', 'clipped', 'cluster', 'fashion', 'gp', 'local', 'paper', 'quick', 'test']"
        in output
    )
    assert "maintenance mode" not in output


def test_an_env_given_as_a_path_is_refused_as_a_path(trained):
    """`--env ../conf/test` names a folder that exists: the message must not say it does not."""
    done = kedro(trained, "run", "--env", "../conf/test", verbose=False)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "'../conf/test' is a path, and --env takes the name of a folder of" in output
    assert "does not exist" not in output and "Traceback" not in output


def test_an_http_server_that_is_not_mlflow_stops_the_run_before_any_node(tmp_path):
    """Any HTTP server answers /health with a page; the run must not start against one."""
    project = make_project_copy(tmp_path, with_mnist=False)
    site = tmp_path / "site"
    site.mkdir()
    (site / "health").write_text("OK")  # `python -m http.server` in a folder holding `health`
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=site)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    (project / "conf" / "test" / "mlflow.yml").write_text(
        f"server:\n  mlflow_tracking_uri: {url}\n"
    )
    try:
        done = kedro(project, "run", "--env", "test")
    finally:
        server.shutdown()
        server.server_close()
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0
    assert f"{url} answers, but it is not an MLflow tracking server: HTTP 404" in output, output[
        -3000:
    ]
    assert "Running node" not in output


def test_a_locked_tracking_store_stops_the_run_in_seconds_and_is_untouched(trained):
    """Another process holds the write lock on mlflow.db (a `sqlite3` shell mid-transaction)."""
    store = trained / "mlflow.db"
    before = digest(store)
    with write_locked(store):
        start = time.monotonic()
        done = kedro(trained, "run", "--env", "test")
        seconds = time.monotonic() - start
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0
    assert f"The MLflow store {store} is locked by another process" in output, output[-3000:]
    assert "Running node" not in output
    assert seconds < 60  # the check's 5 s and Kedro's start, not MLflow's retries
    assert digest(store) == before


def test_a_file_where_an_output_folder_should_be_stops_the_run_before_any_node(trained):
    """data/08_reporting as a file: named at once, not after training at the first save."""
    reporting = trained / "data" / "08_reporting"
    aside = reporting.with_name("08_reporting.aside")
    reporting.rename(aside)
    reporting.write_text("my notes")
    before = len(runs(trained))
    try:
        done = kedro(trained, "run", "--env", "test", "--pipelines", "evaluation")
        output = " ".join((done.stdout + done.stderr).split())
        assert done.returncode != 0
        assert f"{reporting} should be a folder but is a file" in output, output[-3000:]
        assert "Running node" not in output
        assert reporting.read_text() == "my notes"
        assert len(runs(trained)) == before  # no MLflow run opened
    finally:
        reporting.unlink()
        aside.rename(reporting)


def test_a_huge_steps_per_execution_is_capped_and_trains_exactly_the_epochs(trained):
    """1e9 steps per compiled call would never end an epoch (the feed is endless): it runs as
    the epoch's 4 steps, and the run trains exactly epochs x steps critic updates."""
    done = kedro(trained, "run", "--env", "test", "--pipelines", "gan",
                 "--params", "training.steps_per_execution=1000000000")  # fmt: skip
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 0, output[-5000:]
    assert "training.steps_per_execution 1000000000 runs as 4" in output
    steps = pd.read_csv(trained / "data" / "08_reporting" / "training_steps.csv")
    # one row per compiled call; critic_step is the critic optimizer's count of updates
    assert list(steps["critic_step"]) == [4, 8]  # epochs x (200 images / batch 50)


@pytest.mark.timeout(600)
def test_an_unreadable_checkpoint_is_set_aside_and_the_run_starts_fresh(trained):
    """A power cut after the rename left progress.json empty: the next run names the
    checkpoint, keeps it aside, and trains from the start instead of failing every time."""
    checkpoints = trained / "data" / "06_models" / "mnist" / "checkpoints"
    log = trained / "killed.log"
    process = start(trained, "--pipelines", "gan", "--params", "training.epochs=100", log=log)
    wait_for(lambda: any(checkpoints.glob("run-*/step-*/progress.json")), process, "a checkpoint")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    (progress,) = checkpoints.glob("run-*/step-*/progress.json")
    progress.write_text("")

    done = kedro(trained, "run", "--env", "test", "--pipelines", "gan")
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 0, output[-5000:]
    assert (
        f"Checkpoint set aside as {progress.parent.with_name('broken-' + progress.parent.name)}"
        in output
    )
    assert "Resuming training" not in output
    assert list(checkpoints.glob("run-*/broken-step-*/progress.json"))  # kept, to look at
    assert "RUNNING" not in [run.info.status for run in runs(trained)]


def weights_digest(model: keras.Model) -> str:
    return hashlib.sha256(b"".join(w.tobytes() for w in model.get_weights())).hexdigest()


def registered_generator(project: Path, version: str) -> keras.Model:
    with kept_mlflow_state():
        mlflow.set_registry_uri(f"sqlite:///{project / 'mlflow.db'}")
        mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
        model = load_pyfunc(f"models:/{TEST_MODEL}/{version}")
        return model.unwrap_python_model().generator


@pytest.mark.timeout(600)
def test_a_later_dated_model_version_is_not_what_the_run_evaluates_or_registers(trained):
    """Another run's generator, critic and last generator saved while this run trains (a
    version folder dated after this run's): this run still judges, logs and registers its own."""
    models = trained / "data" / "06_models" / "mnist"
    keras.utils.set_random_seed(7)
    planted = plain_generator(build_generator(100))
    planted.name = "mnist_generator"
    folders = []
    for name in ("generator", "generator_last", "critic"):
        folder = models / f"{name}.keras" / "9999-12-31T23.59.59.999Z"
        folder.mkdir()
        folders.append(folder)
        model = planted if name != "critic" else build_critic()
        model.save(folder / f"{name}.keras")
    try:
        done = kedro(trained, "run", "--env", "test", "--pipelines", "gan")
        output = " ".join((done.stdout + done.stderr).split())
        assert done.returncode == 0, output[-5000:]
        assert "did not match load version" not in output
        own = keras.saving.load_model(model_versions(trained, "generator")[-2], safe_mode=True)
        version = runs(trained)[-1].data.tags["registered_version"]
        registered = registered_generator(trained, version)
        assert weights_digest(registered) == weights_digest(own) != weights_digest(planted)
    finally:
        for folder in folders:
            shutil.rmtree(folder)


def registered_versions(project: Path) -> list[str]:
    uri = f"sqlite:///{project / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    return sorted(v.version for v in client.search_model_versions(f"name='{TEST_MODEL}'"))


@pytest.mark.timeout(600)
def test_a_generator_whose_run_was_killed_is_not_released_with_another_runs_numbers(
    trained, tmp_path
):
    """Issue 41: a `--params training.seed=7` run SIGKILLed as its evaluation started, then
    `--pipelines release`: it registered the killed run's generator tagged with the previous
    run's FID and the release run's own seed. Now refused, naming the command that evaluates
    it with its own settings; nothing registered. Then that command releases it, with its own
    seed and its own evaluation's FID."""
    registered = registered_versions(trained)
    log = tmp_path / "killed.log"
    process = start(trained, "--pipelines", "gan", "--params", "training.seed=7", log=log)
    started = re.compile(r"Running node: (evaluation\.)?generate_samples")
    wait_for(lambda: started.search(log.read_text()), process, "the evaluation")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    done = kedro(trained, "run", "--env", "test", "--pipelines", "release")
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0, output[-5000:]
    assert "Traceback" not in output and "Running node" not in output, output[-5000:]
    said = re.search(r"Error: (.*)", output)
    assert said, output[-5000:]
    assert "The saved generator" in said.group(1)
    assert "has no evaluation of its own" in said.group(1)
    assert "`kedro run --env test --pipelines evaluation --params training.seed=7`" in output
    assert "Nothing was logged or registered" in said.group(1)
    assert registered_versions(trained) == registered

    again = kedro(trained, "run", "--env", "test", "--pipelines", "evaluation",
                  "--params", "training.seed=7")  # fmt: skip
    output = " ".join((again.stdout + again.stderr).split())
    assert again.returncode == 0, output[-5000:]
    version = runs(trained)[-1].data.tags["registered_version"]
    generator = keras.saving.load_model(model_versions(trained, "generator")[-1], safe_mode=True)
    assert weights_digest(registered_generator(trained, version)) == weights_digest(generator)
    uri = f"sqlite:///{trained / 'mlflow.db'}"
    tags = mlflow.MlflowClient(registry_uri=uri).get_model_version(TEST_MODEL, version).tags
    assert json.loads(tags["training"])["seed"] == 7
    metrics = pd.read_csv(trained / "data" / "08_reporting" / "mnist" / "evaluation_metrics.csv")
    assert float(tags["fid"]) == pytest.approx(metrics.set_index("set").loc["generated", "fid"])


def test_a_deleted_or_emptied_champion_is_no_champion_and_the_run_goes_on(trained):
    """MLflow's INVALID_PARAMETER_VALUE for an alias whose version was deleted failed every
    later run after training; so did a champion whose files are gone."""
    uri = f"sqlite:///{trained / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)

    def champion():
        return client.get_model_version_by_alias(TEST_MODEL, "champion")

    client.delete_model_version(TEST_MODEL, champion().version)
    for attempt in ("deleted", "files gone"):
        done = kedro(trained, "run", "--env", "test", "--pipelines", "evaluation")
        output = " ".join((done.stdout + done.stderr).split())
        assert done.returncode == 0, (attempt, output[-5000:])
        assert "treated as no comparable champion" in output, attempt
        version = champion()  # the alias mended, on this run's version
        assert version.run_id == runs(trained)[-1].info.run_id
        location = client.get_logged_model(version.source.removeprefix("models:/"))
        shutil.rmtree(location.artifact_location.removeprefix("file://"))


@pytest.mark.parametrize(
    ("root", "rule"),
    [
        ("/", "is the folder /, which holds other things"),
        ("data/01_raw", "is inside data/01_raw, the raw data"),
        ("o" * 300, "has a folder name of 300 bytes, over the 255"),
        ("conf/base/out", "is inside conf/, the project's own files"),
        # found by our own attack: a new folder under src/ was taken for a run's outputs,
        # among the package's source files
        ("src/outputs", "is inside src/, the project's own files"),
    ],
    ids=["file-system-root", "raw-data", "300-characters", "configuration", "source"],
)
def test_an_output_root_outside_the_outputs_stops_the_run_before_any_node(tmp_path, root, rule):
    """`output_root=/` wrote /06_models, /07_model_output and /08_reporting and exited 0."""
    project = make_project_copy(tmp_path, with_mnist=False)
    before = sorted(p.name for p in Path("/").iterdir())
    done = kedro(project, "run", "--env", "test", "--params", f"output_root={root}")
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0
    assert f"output_root '{root[:80]}" in output and rule in output, output[-3000:]
    assert "Running node" not in output
    assert sorted(p.name for p in Path("/").iterdir()) == before
    assert not list((project / "data" / "01_raw").iterdir())


@pytest.mark.parametrize(
    ("value", "said"),
    [("9" * 5000, "epochs is a 5000-digit number"), ("9" * 20, "epochs is a 20-digit number")],
    ids=["past-pythons-int-limit", "past-any-count"],
)
def test_a_huge_number_is_refused_naming_the_key_before_any_node(tmp_path, value, said):
    """5,000 digits failed in Kedro's --params parsing with Python's int-size message."""
    project = make_project_copy(tmp_path, with_mnist=False)
    done = kedro(project, "run", "--env", "test", "--params", f"training.epochs={value}")
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0
    assert "Parameter validation failed: training" in output and said in output, output[-3000:]
    assert "Running node" not in output and "Exceeds the limit" not in output


def test_a_judge_trained_on_shuffled_labels_is_refused_and_not_saved(tmp_path):
    """An mnist.npz in the right layout with its labels shuffled: said to be no known MNIST
    file, and its judge (test accuracy about 0.1) is refused, not kept to score later runs."""
    project = make_project_copy(tmp_path)
    raw = project / "data" / "01_raw" / "mnist.npz"
    with np.load(raw) as arrays:
        shuffled = dict(arrays)
    rng = np.random.default_rng(0)
    for key in ("y_train", "y_test"):
        shuffled[key] = rng.permutation(shuffled[key])
    np.savez_compressed(raw, **shuffled)
    done = kedro(project, "run", "--env", "test", "--pipelines", "classifier", verbose=False)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert f"{raw} is not the known MNIST file: its y_train, y_test differ" in output, output[
        -3000:
    ]
    accuracy = re.search(r"A newly trained mnist judge reaches test accuracy (0\.\d+)", output)
    assert accuracy and float(accuracy.group(1)) < 0.3, output[-3000:]
    assert "below the 0.3 a judge of mnist reaches" in output and "Nothing was saved" in output
    assert "Traceback" not in output
    assert judge_files(project) == []


def test_a_run_waiting_for_another_runs_lock_says_so_and_goes_on_when_it_is_free(trained, tmp_path):
    """Another process (here: this test) holds the catalog's save lock, as a run paused with
    Ctrl-Z in a save would: the run says within seconds that it waits, and for whom."""
    log = tmp_path / "waiting.log"
    with (trained / "data" / ".save.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        process = start(trained, "--pipelines", "reporting", log=log)
        try:
            wait_for(lambda: "Waiting for another run's save to finish" in log.read_text(),
                     process, "the wait's message", seconds=120)  # fmt: skip
        except AssertionError:
            process.kill()
            raise
        said = " ".join(log.read_text().split())
        assert f"data/.save.lock is held by pid {os.getpid()}" in said, said[-2000:]
        assert "giving up after 600 s" in said
    assert process.wait(timeout=240) == 0, log.read_text()[-3000:]
    assert "Got another run's save to finish after" in log.read_text()


def test_a_dead_runs_marker_on_a_server_that_is_down_costs_no_wait(tmp_path):
    """`--env cluster` left a marker of a killed run tracked to a server now down: the next
    local run says so and goes on at once (MLflow's client would retry for minutes)."""
    project = make_project_copy(tmp_path)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    marker = project / "data" / ".runs" / "0123456789abcdef.json"
    marker.parent.mkdir(parents=True)
    marker.write_text(json.dumps({"run_id": "0123456789abcdef", "pid": 999999,
                                  "tracking_uri": f"http://127.0.0.1:{port}"}))  # fmt: skip
    began = time.monotonic()
    done = kedro(project, "run", "--env", "test", "--pipelines", "data_processing")
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 0, output[-3000:]
    assert time.monotonic() - began < 90
    assert f"was tracked to http://127.0.0.1:{port}, which does not answer" in output
    assert marker.exists()  # a later run closes it once the server is back


def _card_not_json(card, judge):
    card.write_text(card.read_text()[:40])


def _card_a_list(card, judge):
    card.write_text("[1, 2]")


def _card_without_settings(card, judge):
    card.write_text(json.dumps({k: v for k, v in json.loads(card.read_text()).items()
                                if k != "settings"}))  # fmt: skip


def _card_accuracy_edited(card, judge):
    card.write_text(json.dumps({**json.loads(card.read_text()), "test_accuracy": 0.9999}))


def _card_deleted(card, judge):
    card.unlink()


def _judge_truncated(card, judge):
    judge.write_bytes(judge.read_bytes()[:1000])


@pytest.mark.parametrize(
    ("damage", "pipeline", "said"),
    [
        (_card_not_json, "classifier", "test_judge.json cannot be read (Unterminated string"),
        (_card_a_list, "classifier", "test_judge.json holds a list, not the card's object"),
        (_card_without_settings, "classifier", "test_judge.json lacks ['settings']"),
        (_card_accuracy_edited, "classifier", "was changed after it was written: its figures "
         "(test accuracy 0.9999"),
        (_card_deleted, "gan", "test_judge.keras has no card beside it"),
        (_judge_truncated, "classifier", "test_judge.keras cannot be loaded: it is damaged"),
    ],
    ids=["card-not-json", "card-a-list", "card-without-settings", "card-accuracy-edited",
         "card-deleted", "judge-truncated"],
)  # fmt: skip
def test_a_damaged_or_edited_judge_card_is_refused_naming_the_file(trained, damage, pipeline, said):
    """The judge's card is checked, not trusted: each fault named with its file and what to
    do, without a traceback; the judge's files are left as they were."""
    folder = trained / "data" / "06_models" / "mnist"
    card, judge = folder / "test_judge.json", folder / "test_judge.keras"
    kept = {path: path.read_bytes() for path in (card, judge)}
    try:
        damage(card, judge)
        damaged = {p: p.read_bytes() for p in (card, judge) if p.exists()}
        done = kedro(trained, "run", "--env", "test", "--pipelines", pipeline, verbose=False)
        output = " ".join((done.stdout + done.stderr).split())
        assert done.returncode != 0
        assert said in output, output[-3000:]
        assert "Traceback" not in output
        assert {p: p.read_bytes() for p in (card, judge) if p.exists()} == damaged
    finally:
        for path, content in kept.items():
            path.write_bytes(content)
