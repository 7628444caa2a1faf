"""The sweep spec and what a trial is handed: checked before any trial starts, in seconds."""

from __future__ import annotations

import pytest
from kedro.config import OmegaConfigLoader
from kedro.framework.cli.utils import _split_params

from wgan_pipeline import settings
from wgan_pipeline.params import check_groups
from wgan_pipeline.sweep.spec import SweepSpecError, check_against_params, parse_spec
from wgan_pipeline.sweep.trial import params_argument, thread_env, trial_folder

from ..helpers import PROJECT_ROOT, kedro, make_project_copy


def conf(env: str, runtime_params: dict | None = None) -> OmegaConfigLoader:
    return OmegaConfigLoader(str(PROJECT_ROOT / "conf"), env=env, runtime_params=runtime_params,
                             **settings.CONFIG_LOADER_ARGS)  # fmt: skip


@pytest.mark.parametrize("env", ["test", "quick", "best", "cluster", "clipped"])
def test_the_shipped_specs_pass_their_checks(env):
    loader = conf(env)
    spec = parse_spec(loader["sweep"]["sweep"])
    check_against_params(spec, loader["parameters"])
    assert spec.search_space and spec.metric == "eval.generated.fid"


def test_env_sweep_files_override_single_keys():
    """conf/cluster/sweep.yml sets resources and counts; the rest stays conf/base's."""
    base, cluster = conf("quick")["sweep"]["sweep"], conf("cluster")["sweep"]["sweep"]
    assert cluster["resources"] == {"cpus": 4, "gpus": 1}
    assert cluster["search_space"] == base["search_space"]
    assert conf("cluster")["mlflow"]["tracking"]["params"]["dict_params"]["flatten"] is True


def base_spec(**changes) -> dict:
    return {**conf("test")["sweep"]["sweep"], **changes}


def space(**keys) -> dict:
    return {"search_space": {k.replace("__", "."): v for k, v in keys.items()}}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"search_space": {}}, ["search_space is empty"]),
        ({"num_trials": 0}, ["sweep.num_trials", "greater than or equal to 1"]),
        ({"max_concurrent": 0}, ["sweep.max_concurrent"]),
        ({"max_concurrent": 100000}, ["sweep.max_concurrent", "less than or equal to 256"]),
        ({"num_trials": 10**12}, ["sweep.num_trials", "less than or equal to 10000"]),
        ({"resources": {"cpus": 0.001, "gpus": 0}},
         ["sweep.resources.cpus", "greater than or equal to 0.25"]),
        ({"resources": {"cpus": 1, "gpus": 10**6}}, ["sweep.resources.gpus", "less than or equal to 64"]),
        ({"colour": "red"}, ["unknown key(s) ['colour']"]),
        ({"mode": "lowest"}, ["sweep.mode"]),
        (space(training__clip_vale={"distribution": "uniform", "low": 0.01, "high": 0.1}),
         ["'training.clip_vale' is not a parameter", "'clip_value'"]),
        (space(trainng__epochs={"distribution": "int", "low": 1, "high": 3}),
         ["'trainng.epochs' is not a parameter", "the groups are"]),
        (space(training__clip_value={"distribution": "uniform", "low": 0.1, "high": 0.01}),
         ["low (0.1) must be smaller than high (0.01)"]),
        (space(training__clip_value={"distribution": "uniform", "low": -0.1, "high": 0.1}),
         ["sweep.search_space.training.clip_value = -0.1", "greater than 0"]),
        (space(training__learning_rate={"distribution": "loguniform", "low": 0, "high": 0.1}),
         ["loguniform distribution needs low > 0"]),
        (space(training__n_critic={"distribution": "int", "low": 0, "high": 3}),
         ["training.n_critic = 0", "greater than or equal to 1"]),
        (space(training__optimizer={"distribution": "choice", "values": ["adam", "sgd"]}),
         ["training.optimizer = 'sgd'", "'rmsprop' or 'adam'"]),
        (space(training__clip_value={"distribution": "choice"}), ["non-empty list `values`"]),
        ({"params": {"training.batch_size": 500}},
         ["sweep.params", "max_train_images (200) is smaller than one batch"]),
        ({"params": {"output_root": "elsewhere"}}, ["'output_root' is set by the sweep itself"]),
    ],
)  # fmt: skip
def test_a_bad_spec_is_refused_naming_the_key(changes, expected):
    with pytest.raises(SweepSpecError) as refused:
        check_against_params(parse_spec(base_spec(**changes)), conf("test")["parameters"])
    for text in expected:
        assert text in str(refused.value)
    assert str(refused.value).endswith("Nothing was run.")


def test_no_spec_at_all_is_refused():
    with pytest.raises(SweepSpecError, match="There is no sweep spec"):
        parse_spec(None)


def test_a_trials_values_reach_kedro_as_they_were():
    """What a trial passes to `kedro run --params` comes back from Kedro's own parser
    unchanged: floats in full, ints, bools, strings and the trial's folder."""
    values = {"training.clip_value": 0.012345678901234567, "training.n_critic": 3,
              "training.learning_rate": 1e-05, "training.deterministic": True,
              "training.optimizer": "adam", "output_root": trial_folder("s-1", "abc123")}  # fmt: skip
    parsed = _split_params(None, None, params_argument(values))
    flat = {"output_root": parsed["output_root"],
            **{f"training.{k}": v for k, v in parsed["training"].items()}}  # fmt: skip
    assert flat == values
    with pytest.raises(ValueError, match="comma"):
        params_argument({"training.optimizer": "a,b"})


def test_threads_follow_the_trials_cpus():
    assert thread_env(1)["TF_NUM_INTRAOP_THREADS"] == "1"
    assert thread_env(4.5)["OMP_NUM_THREADS"] == "4"
    assert thread_env(0.5)["TF_NUM_INTRAOP_THREADS"] == "1"


def test_output_root_moves_a_runs_outputs_and_nothing_else():
    """A trial's models, checkpoints, samples and reports go to its own folder; the raw data
    and the classifier stay data/'s."""
    catalog = conf("test", {"output_root": "data/sweeps/s/t1"})["catalog"]
    assert catalog["generator"]["filepath"] == "data/sweeps/s/t1/06_models/mnist/generator.keras"
    assert catalog["training_checkpoints"]["path"].startswith("data/sweeps/s/t1/")
    assert catalog["sample_grid"]["dataset"]["filepath"].startswith("data/sweeps/s/t1/08_")
    assert catalog["classifier"]["filepath"] == "data/06_models/mnist/test_judge.keras"
    assert catalog["raw_images"]["path"] == "data/01_raw"
    assert conf("test")["catalog"]["generator"]["filepath"].startswith("data/06_models/")
    check_groups({"output_root": "data/sweeps/s/t1"})
    with pytest.raises(ValueError, match="without '..'"):
        check_groups({"output_root": "../elsewhere"})


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--num-trials", "0"], "sweep.num_trials: Input should be greater than or equal to 1"),
        (["--num-trials", str(10**12)], "sweep.num_trials: Input should be less than or equal to"),
        (["--max-concurrent", "100000"], "sweep.max_concurrent: Input should be less than or"),
    ],
)
def test_kedro_sweep_refuses_a_bad_spec_before_anything_runs(tmp_path, args, said):
    project = make_project_copy(tmp_path, with_mnist=False)
    result = kedro(project, "sweep", "--env", "test", *args, timeout=120)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert said in output, output[-3000:]
    assert "Traceback" not in output
    assert not (project / "data" / "sweeps").exists()  # no trial, no Ray
    assert not (project / "mlflow.db").exists() or "test-sweep" not in (
        project / "mlflow.db"
    ).read_bytes().decode(errors="replace")


@pytest.mark.e2e
def test_kedro_sweep_refuses_a_dead_address_and_a_missing_classifier_at_once(tmp_path):
    """Either would otherwise cost minutes: ray.init retrying, or every trial failing."""
    project = make_project_copy(tmp_path, with_mnist=False)
    dead = kedro(project, "sweep", "--env", "test", "--address", "127.0.0.1:1", timeout=120)
    output = " ".join((dead.stdout + dead.stderr).split())
    assert dead.returncode != 0
    assert "No Ray cluster answers at 127.0.0.1:1" in output, output[-3000:]
    untrained = kedro(project, "sweep", "--env", "test", timeout=120)
    output = " ".join((untrained.stdout + untrained.stderr).split())
    assert untrained.returncode != 0
    assert "kedro run --env test --pipelines classifier" in output, output[-3000:]
    assert "Traceback" not in output
    assert not (project / "data" / "sweeps").exists()


def test_a_sweep_whose_trials_all_failed_draws_nothing_and_has_no_best():
    """Every trial failed before its first epoch (bad data): NaN everywhere, no crash."""
    pytest.importorskip("ray")
    import pandas as pd  # noqa: PLC0415

    from wgan_pipeline.sweep.driver import best_row, sweep_figure  # noqa: PLC0415 (Ray)

    spec = parse_spec(conf("test")["sweep"]["sweep"])
    keys = {
        key: [0.05, 0.02] if key != "training.n_critic" else [1, 2] for key in spec.search_space
    }
    failed = pd.DataFrame({"trial": ["a", "b"], "status": ["FAILED", "FAILED"], **keys,
                           spec.metric: [float("nan")] * 2,
                           f"last {spec.epoch_metric}": [float("nan")] * 2})  # fmt: skip
    assert sweep_figure(failed, spec) is None
    assert best_row(failed, spec) is None
    drawn = failed.assign(status=["FINISHED", "FAILED"], **{spec.metric: [30.0, float("nan")]})
    assert sweep_figure(drawn, spec) is not None
    assert best_row(drawn, spec)["trial"] == "a"


@pytest.mark.e2e
def test_kedro_sweep_refuses_resources_no_trial_can_run_on(tmp_path):
    """`resources.cpus: 0.001` passed the checks and left TensorFlow no thread."""
    project = make_project_copy(tmp_path, with_mnist=False)
    spec = project / "conf" / "test" / "sweep.yml"
    spec.write_text(spec.read_text() + "  resources: {cpus: 0.001, gpus: 0}\n")
    result = kedro(project, "sweep", "--env", "test", timeout=120)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "sweep.resources.cpus: Input should be greater than or equal to 0.25" in output, output[
        -3000:
    ]
    assert "Traceback" not in output and not (project / "data" / "sweeps").exists()
