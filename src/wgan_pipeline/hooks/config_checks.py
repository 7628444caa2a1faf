"""Configuration mistakes stopped before anything reads the configuration for real."""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

from wgan_pipeline.errors import Refused
from wgan_pipeline.hooks.output_paths import check_output_paths, output_root_fault
from wgan_pipeline.params import check_groups, check_values


class ConfigurationError(Refused, ValueError):
    """The run's configuration cannot be right: a missing env, an unknown parameter group."""


class ConfigChecksHook:
    """Around every other ``after_context_created`` (a wrapper: first of all, before the
    tracking-store check and kedro-mlflow read mlflow.yml):

    - ``--env NAME`` must name a folder of conf/; otherwise every later step fails with a
      message about something else (MLflow's "filesystem tracking backend" error);
    - every parameter group must be one the pipelines know, and bounds between groups must hold
      (params.check_groups): a typo such as ``--params trainng.epochs=1`` would otherwise be
      ignored without a word; every value must fit its group's schema (params.check_values,
      before Kedro's own check imports the pipelines, and with them TensorFlow);
    - ``output_root`` must be a folder for the run's outputs, inside the project or made for it.

    Then before kedro-mlflow opens the run (``tryfirst``), so a refusal leaves no MLflow run:
    every path the pipeline reads or writes must be usable (output_paths.check_output_paths),
    the judge must be there and unchanged (``check_judge``), and the raw data there or
    downloaded (its message names the file to place).
    """

    _conf_catalog: dict[str, Any] = {}  # noqa: RUF012 (replaced per run, never mutated)

    @hook_impl(wrapper=True)
    def after_context_created(self, context):
        conf = Path(context.config_loader.conf_source)
        env = context.env or context.config_loader.default_run_env
        envs = conf_envs(conf)
        if env not in envs and env != context.config_loader.default_run_env:
            what = (
                f"'{env}' is a path, and --env takes the name of a folder of {conf}"
                if "/" in env or env in (".", "..")
                else f"The Kedro environment '{env}' does not exist: there is no folder {conf / env}"
            )
            raise ConfigurationError(
                f"{what}. The environments are {sorted(envs - {'base'})}; nothing was run."
            )
        # The raw values (--params merged): context.params would import every pipeline first.
        parameters = context.config_loader["parameters"]
        try:
            check_groups(parameters)
            check_values(parameters)
        except ValueError as exc:
            raise ConfigurationError(f"{str(exc).rstrip('.')}. Nothing was run.") from None
        check_mixed_precision(parameters.get("training"))
        check_dataset_follows_globals(context, parameters.get("data"))
        check_output_root(context)
        return (yield)

    @hook_impl
    def after_catalog_created(self, conf_catalog: dict[str, Any]) -> None:
        self._conf_catalog = conf_catalog  # paths already absolute

    @hook_impl(tryfirst=True)  # before kedro-mlflow opens a run: a refusal leaves none
    def before_pipeline_run(self, run_params, pipeline, catalog) -> None:
        check_output_paths(pipeline, self._conf_catalog)
        check_inputs_in_memory(pipeline, self._conf_catalog, run_params)
        check_judge(pipeline, catalog, run_params.get("env"))
        check_release_sources(pipeline, catalog, run_params.get("env"))
        if "raw_images" in pipeline.inputs():
            catalog.get("raw_images").fetch()  # a failed download: no MLflow run left FAILED


def conf_envs(conf: Path) -> set[str]:
    """The env folders of a conf source: a folder, or the archive `kedro package` writes."""
    if conf.is_dir():
        return {p.name for p in conf.iterdir() if p.is_dir()}
    if tarfile.is_tarfile(conf):
        with tarfile.open(conf) as archive:
            names = [m.name for m in archive.getmembers() if m.isdir()]
    else:
        with zipfile.ZipFile(conf) as archive:
            names = [n.rstrip("/") for n in archive.namelist() if n.endswith("/")]
    return {Path(n).parts[1] for n in names if len(Path(n).parts) == 2}


def check_inputs_in_memory(pipeline, conf_catalog: dict[str, Any], run_params) -> None:
    """An input that lives only in memory (the scaled training images) must be made in the same
    run: ``--pipelines training`` alone would fail in its first node. Refused, naming the
    pipelines that make it."""
    from kedro.framework.project import pipelines  # noqa: PLC0415 (the registered ones)

    missing = sorted(
        name
        for name in pipeline.inputs()
        if name not in conf_catalog or "MemoryDataset" in str(conf_catalog[name].get("type", ""))
        if not name.startswith("params:") and name != "parameters"
    )
    if not missing:
        return
    makers = sorted(
        name
        for name, other in pipelines.items()
        if name != "__default__" and set(missing) & other.all_outputs()
    )
    asked = ",".join(run_params.get("pipeline_names") or []) or "this pipeline"
    raise ConfigurationError(
        f"{asked} needs {missing}, which a run keeps in memory and never saves: run it with "
        f"the pipeline that makes it, e.g. `kedro run --pipelines {makers[0]},{asked}`"
        f"{' (made by ' + ', '.join(makers) + ')' if len(makers) > 1 else ''}. Nothing was run."
        if makers
        else f"{asked} needs {missing}, which nothing makes. Nothing was run."
    )


def check_release_sources(pipeline, catalog, env: str | None) -> None:
    """A release from saved files (``--pipelines release`` or ``evaluation``) must release
    generators that their own training's record describes and, without an evaluation in the
    run, that the saved evaluation judged (registry/provenance.py), else it is refused naming
    the command that makes them, before any node runs or any MLflow run opens. The release's
    nodes check again what they are given; the catalog keeps what was checked here (a
    CachedDataset, a resolved version), so they are given the same."""
    inputs = pipeline.inputs()
    if "training_record" not in inputs or not any(
        node.name.startswith("release.") for node in pipeline.nodes
    ):
        return  # no release, or this run trains and records its own generators
    import pandas as pd  # noqa: PLC0415

    from wgan_pipeline.gan.judge import model_identity  # noqa: PLC0415 (imports Keras)
    from wgan_pipeline.params import TrainingParams  # noqa: PLC0415
    from wgan_pipeline.registry.provenance import check_provenance  # noqa: PLC0415

    record = catalog.load("training_record") if catalog.exists("training_record") else None
    identities = {
        name: model_identity(catalog.load(name))
        for name in ("generator", "generator_last")
        if name in inputs and catalog.exists(name)  # a missing one: Kedro's own error later
    }
    metrics = None
    if "evaluation_metrics" in inputs:
        metrics = (
            catalog.load("evaluation_metrics")
            if catalog.exists("evaluation_metrics")
            else pd.DataFrame({"generator": []})  # no evaluation at all
        )
    training = catalog.load("params:training") if catalog.exists("params:training") else None
    if isinstance(training, dict):
        training = TrainingParams(**training)
    check_provenance(identities, record, metrics, env=env,
                     training=training.model_dump(mode="json") if training else None)  # fmt: skip


def check_judge(pipeline, catalog, env: str | None) -> None:
    """The data set's judge is fixed: a pipeline that judges with the saved one needs it there,
    and one that would train it with other settings than the saved judge's is refused (the
    judge would silently change, and with it every FID), each before any node runs."""
    command = f"kedro run{f' --env {env}' if env else ''} --pipelines classifier"
    judge = catalog.get("classifier").path
    if (
        "classifier" in pipeline.inputs()
        and judge.is_file()
        and not judge.with_suffix(".json").is_file()
    ):
        catalog.load("classifier")  # refused by the dataset, naming the card that is missing
    if "classifier" in pipeline.inputs() and not catalog.exists("classifier"):
        raise ConfigurationError(
            f"This run judges with the data set's saved judge, and there is none: "
            f"{catalog.get('classifier').path} is missing. Train it first with `{command}` "
            "(`kedro run` with no --pipelines trains it too). Nothing was run."
        )
    card = catalog.load("judge_card") if "saved_judge" in pipeline.inputs() else None
    if card is None or not catalog.exists("classifier"):
        return
    wanted = _as_dict(catalog.load("params:classifier"))
    changed = {k: (v, wanted.get(k)) for k, v in card["settings"].items() if wanted.get(k) != v}
    if changed:
        listed = ", ".join(
            f"classifier.{k}: saved {old!r}, asked {new!r}" for k, (old, new) in changed.items()
        )
        raise ConfigurationError(
            f"The saved judge {catalog.get('classifier').path} was trained with other settings "
            f"({listed}). The judge is fixed per data set so that every run's FID compares: "
            "drop those overrides, or delete the judge and its card (.keras and .json) to train "
            "a new one, whose FIDs will not compare with earlier runs'. Nothing was run."
        )


def _as_dict(value) -> dict:
    return value.model_dump() if hasattr(value, "model_dump") else dict(value or {})


def check_output_root(context) -> None:
    """``--params output_root=...`` must name a folder for this run's outputs (the rule is
    output_paths.output_root_fault's): `/` would put folders at the file system's root."""
    root = (context.config_loader.runtime_params or {}).get("output_root")
    fault = output_root_fault(root, Path(context.project_path)) if isinstance(root, str) else None
    if fault:
        raise ConfigurationError(
            f"output_root {root[:80]!r}{'...' if len(root) > 80 else ''} {fault}. Nothing was run."
        )


def check_dataset_follows_globals(context, data: dict[str, Any] | None) -> None:
    """``data.dataset`` set in a parameters file, where the catalog cannot see it, would train
    on one data set's files and name the models after another: refused. The catalog's paths
    follow ``--params data.dataset=...`` or globals.yml's ``dataset``."""
    wanted = (data or {}).get("dataset")
    runtime = (context.config_loader.runtime_params or {}).get("data") or {}
    catalog_dataset = runtime.get("dataset") or context.config_loader["globals"].get("dataset")
    if wanted is not None and catalog_dataset is not None and wanted != catalog_dataset:
        raise ConfigurationError(
            f"data.dataset is {wanted!r} in the parameters, but the catalog reads {catalog_dataset!r} "
            "(globals.yml's `dataset`). Set the data set in conf/<env>/globals.yml "
            "(`dataset: ...`) or with --params data.dataset=..., not in a parameters file. "
            "Nothing was run."
        )


def check_mixed_precision(training) -> None:
    """``training.mixed_precision: true`` where bfloat16 cannot run stops the run now, not with
    an abort once training starts."""
    if not isinstance(training, dict) or training.get("mixed_precision") is not True:
        return
    from wgan_pipeline.training_run.devices import bfloat16_unsupported  # noqa: PLC0415 (TF)

    reason = bfloat16_unsupported()
    if reason:
        raise ConfigurationError(
            f"training.mixed_precision is true, but {reason}. Set training.mixed_precision=false "
            "(float32), or run where bfloat16 is supported (a GPU, a CPU with AVX512_BF16 or "
            "AMX, or KERAS_BACKEND=jax). Nothing was run."
        )
