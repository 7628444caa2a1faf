"""The champion served by a real `mlflow models serve` on 127.0.0.1: digits for a real HTTP
request, and a 4xx with a message for each bad one."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import keras
import mlflow
import numpy as np
import pytest

from wgan_pipeline.datasets import MlflowGeneratorDataset
from wgan_pipeline.gan.models import build_generator, plain_generator

from ..helpers import MLFLOW_PROCESS_STATE, kept_mlflow_state, use_fresh_mlflow_store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The URL of a real `mlflow models serve` of a registered champion, for the module."""
    with kept_mlflow_state():
        yield from serve(tmp_path_factory.mktemp("served"))


def serve(store):
    uri = use_fresh_mlflow_store(store)
    keras.utils.set_random_seed(0)
    generator = plain_generator(build_generator(100))
    with mlflow.start_run():
        MlflowGeneratorDataset(registered_model_name="wgan-generator").save(
            {
                "model": generator,
                "tags": {
                    "fid": 50.0,
                    "noise": "uniform",
                    "latent_dim": 100,
                    "architecture": "chapter",
                },
                "crown": True,
                "reason": "the first",
            }
        )
    port = free_port()
    log = (store / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/wgan-generator@champion",
         "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
        env={**{k: v for k, v in os.environ.items() if k not in MLFLOW_PROCESS_STATE},
             "MLFLOW_TRACKING_URI": uri, "TF_CPP_MIN_LOG_LEVEL": "2"},
        stdout=log, stderr=subprocess.STDOUT, cwd=store,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/ping", timeout=5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("mlflow models serve did not start:\n"
                                + (store / "serve.log").read_text()[-3000:])  # fmt: skip
                time.sleep(1)
        yield f"{url}/invocations"
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_a_request_for_16_digits_gets_16_digits(server):
    noise = np.random.default_rng(0).uniform(-1, 1, (16, 100)).astype(np.float32)
    status, body = post(server, {"inputs": noise.tolist()})
    assert status == 200
    digits = np.asarray(body["predictions"])
    assert digits.shape == (16, 28, 28)
    assert np.issubdtype(digits.dtype, np.integer) and 0 <= digits.min() <= digits.max() <= 255
    assert len(np.unique(digits)) > 2  # pixels, not a constant


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"inputs": np.zeros((2, 50)).tolist()}, "does not match expected shape (-1, 100)"),
        ({"inputs": [["a"] * 100] * 2}, "could not convert string to float"),  # wrong dtype
        ({"inputs": np.zeros((1001, 100)).tolist()}, "at most 1000 per request"),  # too many
        ({"inputs": [[float("nan")] * 100]}, "NaN or infinite"),
        ({"inputs": [[-1e30] * 100]}, "within [-1.0, 1.0] (uniform noise"),
        ({"inputs": [[3e38] * 100]}, "within [-1.0, 1.0] (uniform noise"),
        ({"inputs": [[1e39] * 100]}, "NaN or infinite"),  # past float32: cast to inf
        ({"inputs": [[1.5] * 100]}, "within [-1.0, 1.0]"),
    ],
    ids=[
        "wrong-shape",
        "wrong-dtype",
        "too-many",
        "not-finite",
        "huge",
        "float32-max",
        "past-float32",
        "outside-training",
    ],
)
def test_a_bad_request_gets_a_4xx_with_a_message(server, body, says):
    status, answer = post(server, body)
    assert 400 <= status < 500, (status, answer)
    assert says in answer["message"] and "Traceback" not in answer["message"]
