"""Every parameter group refuses bad values with a message naming the key and what is allowed."""

import pytest
import yaml
from kedro.config import OmegaConfigLoader
from pydantic import ValidationError

from wgan_pipeline.params import (
    SCHEMAS,
    EvaluationParams,
    TrainingParams,
    check_groups,
    check_values,
)
from wgan_pipeline.settings import CONFIG_LOADER_ARGS

from .helpers import PROJECT_ROOT, base_groups, base_params


def test_base_config_and_the_schemas_agree_key_for_key():
    """One source per value: conf/base holds every value, the schemas only types, bounds and
    descriptions. Every group is in both, with the same keys; every field is required (no
    default to drift from the YAML) and described; conf/base's values pass the schemas."""
    groups = base_groups()
    assert set(groups) == set(SCHEMAS)
    for name, schema in SCHEMAS.items():
        assert set(groups[name]) == set(schema.model_fields), name
        for key, field in schema.model_fields.items():
            assert field.is_required(), f"{name}.{key} has a default in the schema"
            assert field.description, f"{name}.{key} has no description"
        schema.model_validate(groups[name])


def test_base_config_is_the_chapters():
    training = base_groups()["training"]
    chapter = {"latent_dim": 100, "batch_size": 100, "epochs": 30, "n_critic": 1,
               "critic_schedule": "constant", "constraint": "clip", "clip_value": 0.1,
               "optimizer": "rmsprop", "learning_rate": 5e-5, "noise": "uniform"}  # fmt: skip
    assert {k: training[k] for k in chapter} == chapter
    assert base_groups()["data"]["max_train_images"] is None


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("epochs", 0, "greater than or equal to 1"),
        ("epochs", "ten", "valid integer"),
        ("epochs", "30", "valid integer"),  # strings are not numbers, even quoted digits
        ("epochs", 2.5, "valid integer"),
        ("batch_size", -100, "greater than or equal to 1"),
        ("n_critic", 0, "greater than or equal to 1"),
        ("clip_value", -0.1, "greater than 0"),
        ("clip_value", 0, "greater than 0"),
        ("clip_value", "0.1", "valid number"),
        ("learning_rate", 0.0, "greater than 0"),
        ("learning_rate", 2.0, "less than or equal to 1"),
        ("latent_dim", 0, "greater than or equal to 1"),
        ("seed", -1, "greater than or equal to 0"),
        ("noise", "gaussian", "'uniform' or 'normal'"),
        ("jit_compile", "yes", "valid boolean"),
        ("steps_per_execution", 0, "greater than or equal to 1"),
        ("grid_rows", 0, "greater than or equal to 1"),
        ("constraint", "spectral_norm", "'clip' or 'gradient_penalty'"),
        ("gp_weight", 0, "greater than 0"),
        ("critic_schedule", "warmup", "'constant' or 'paper'"),
        ("optimizer", "sgd", "'rmsprop' or 'adam'"),
        ("beta_1", 1.0, "less than 1"),
        ("beta_2", -0.1, "greater than or equal to 0"),
        ("lr_schedule", "cosine", "'constant' or 'linear'"),
        ("width", 0, "greater than or equal to 1"),
    ],
)
def test_training_params_refuse_bad_values(key, value, message):
    with pytest.raises(ValidationError) as info:
        TrainingParams.model_validate({**base_groups()["training"], key: value})
    text = str(info.value)
    assert key in text and message in text


@pytest.mark.parametrize("schema", list(SCHEMAS.values()))
def test_unknown_keys_are_named_with_the_allowed_ones(schema):
    with pytest.raises(ValidationError) as info:
        schema.model_validate({"not_a_key": 1})  # refused before the missing keys
    text = str(info.value)
    assert "unknown key(s) ['not_a_key']" in text
    assert all(repr(field) in text for field in schema.model_fields)


def test_a_width_other_than_64_needs_the_dcgan_networks():
    training = base_groups()["training"]
    with pytest.raises(ValidationError, match=r"training.width \(32\).*architecture: dcgan"):
        TrainingParams.model_validate({**training, "width": 32})
    assert TrainingParams.model_validate({**training, "width": 32, "architecture": "dcgan"})


def test_batch_normalization_needs_the_dcgan_networks_and_clipping():
    """The chapter's networks have none; the gradient penalty is per image, and batch
    normalization makes each score depend on the whole batch (why WGAN-GP removed it)."""
    dcgan = {**base_groups()["training"], "architecture": "dcgan", "normalization": "batch"}
    assert TrainingParams.model_validate(dcgan).normalization == "batch"
    with pytest.raises(ValidationError, match=r"normalization: batch .*architecture: dcgan"):
        TrainingParams.model_validate({**dcgan, "architecture": "chapter"})
    with pytest.raises(ValidationError) as info:
        TrainingParams.model_validate({**dcgan, "constraint": "gradient_penalty"})
    text = str(info.value)
    assert "each image's own gradient" in text and "whole batch" in text
    assert "WGAN-GP removed it" in text and "training.constraint: clip" in text
    with pytest.raises(ValidationError, match="'none' or 'batch'"):
        TrainingParams.model_validate({**dcgan, "normalization": "layer"})


def test_params_are_frozen():
    with pytest.raises(ValidationError):
        TrainingParams(**base_groups()["training"]).epochs = 3


@pytest.mark.parametrize("env", ["quick", "test"])
def test_environments_override_single_keys_and_keep_the_rest(env):
    """conf/<env> changes only what it names: every other key still comes from conf/base."""
    loader = OmegaConfigLoader(str(PROJECT_ROOT / "conf"), env=env, **CONFIG_LOADER_ARGS)
    params = loader["parameters"]
    base = base_groups()
    overrides = yaml.safe_load((PROJECT_ROOT / "conf" / env / "parameters.yml").read_text())
    for group, values in base.items():
        assert set(params[group]) == set(values), group
        for key, value in values.items():
            assert params[group][key] == overrides.get(group, {}).get(key, value), (group, key)


@pytest.mark.parametrize(
    ("group", "key", "value", "message"),
    [
        ("training", "seed", 2**32, "less than or equal to 4294967295"),
        ("classifier", "seed", 2**32, "less than or equal to 4294967295"),
        ("evaluation", "seed", 2**32, "less than or equal to 4294967295"),
        ("training", "clip_value", float("inf"), "finite number"),
        ("training", "gp_weight", float("inf"), "finite number"),
        ("training", "learning_rate", float("nan"), "finite number"),
        ("evaluation", "n_samples", 5, "evaluation.score_splits"),
        ("evaluation", "n_reference", 60001, "less than or equal to 60000"),
        ("evaluation", "judge_samples", 5, "greater than or equal to 10"),
        ("evaluation", "every_epochs", 0, "greater than or equal to 1"),
        ("training", "ema_decay", 1.0, "less than 1"),
    ],
)
def test_bounds_that_failed_late_are_refused_up_front(group, key, value, message):
    with pytest.raises(ValidationError) as info:
        SCHEMAS[group].model_validate({**base_groups()[group], key: value})
    assert key in str(info.value) and message in str(info.value)


def test_evaluation_sets_must_outnumber_the_nearest_neighbours():
    values = {**base_groups()["evaluation"], "n_samples": 3, "score_splits": 1}
    with pytest.raises(ValidationError, match="n_samples .3. must be larger than evaluation.k_p"):
        EvaluationParams.model_validate(values)


def test_unknown_groups_and_bounds_between_groups_are_named():
    groups = base_groups()
    check_groups(groups)  # conf/base is sound
    with pytest.raises(
        ValueError,
        match=r"Unknown parameter group\(s\) \['trainng'\] \(did you mean 'training'\?\): the",
    ):
        check_groups({**groups, "trainng": {"epochs": 1}})
    small = {**groups, "data": {"max_train_images": 10}}
    with pytest.raises(ValueError, match=r"data.max_train_images \(10\) .* training.batch_size"):
        check_groups(small)


def test_every_bad_value_of_every_group_is_named_with_its_key_and_rule():
    """What ConfigChecksHook refuses before Kedro imports the pipelines (and TensorFlow)."""
    groups = base_groups()
    check_values(groups)  # conf/base is sound
    check_values({**groups, "training": TrainingParams(**groups["training"])})  # typed already
    bad = {
        **groups,
        "training": {**groups["training"], "epochs": 0, "clip_value": "x"},
        "evaluation": {**groups["evaluation"], "n_samplez": 5},
    }
    with pytest.raises(ValueError, match="^Parameter validation failed: ") as refused:
        check_values(bad)
    said = str(refused.value)
    assert "training.epochs: Input should be greater than or equal to 1" in said
    assert "training.clip_value: Input should be a valid number" in said
    assert "evaluation: Value error, unknown key(s) ['n_samplez']" in said


def test_judge_samples_must_exceed_the_k_of_the_knn_metrics():
    values = base_params("evaluation", judge_samples=20, k_density_coverage=20)
    with pytest.raises(ValueError, match=r"judge_samples \(20\) must be larger than the k"):
        EvaluationParams(**values)
