"""The sweep spec (conf/<env>/sweep.yml, key ``sweep``): its schema, and the check of every value
it can hand a trial against the parameter groups' own schemas, before any trial starts.

Imports neither Ray nor Optuna: a bad spec is refused where they are not even installed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from wgan_pipeline.params import (
    RUNTIME_KEYS,
    SCHEMAS,
    Params,
    check_groups,
    schema_errors,
    value_faults,
)


class SweepSpecError(ValueError):
    """The sweep spec cannot run: a bad key, range or value. Raised before any trial starts."""


class Distribution(Params):
    """One swept key: ``uniform``/``loguniform`` floats in [low, high], ``int`` integers in
    [low, high] (both included), or a ``choice`` among ``values``."""

    distribution: Literal["uniform", "loguniform", "int", "choice"] = Field(
        description="How values are drawn."
    )
    low: float | None = Field(default=None, description="Smallest value (not for choice).")
    high: float | None = Field(default=None, description="Largest value (not for choice).")
    values: list[Any] | None = Field(default=None, description="The choices (choice only).")

    # YAML gives ints for `low: 1`: floats and ints are both numbers here.
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True, allow_inf_nan=False)

    @model_validator(mode="after")
    def _bounds(self) -> Distribution:
        if self.distribution == "choice":
            if not self.values:
                raise ValueError("a choice needs a non-empty list `values`")
            if self.low is not None or self.high is not None:
                raise ValueError("a choice takes `values`, not low/high")
            return self
        if self.low is None or self.high is None or self.values is not None:
            raise ValueError(f"a {self.distribution} distribution needs `low` and `high` only")
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be smaller than high ({self.high})")
        if self.distribution == "loguniform" and self.low <= 0:
            raise ValueError(f"a loguniform distribution needs low > 0 (got {self.low})")
        if self.distribution == "int" and not (
            float(self.low).is_integer() and float(self.high).is_integer()
        ):
            raise ValueError(
                f"an int distribution needs whole bounds (got {self.low}, {self.high})"
            )
        return self

    def edge_values(self) -> list[Any]:
        """The values that bound what a trial can get: both ends, or every choice."""
        if self.distribution == "choice":
            return list(self.values or [])
        if self.distribution == "int":
            return [int(self.low), int(self.high)]
        return [float(self.low), float(self.high)]


class Scheduler(Params):
    """Early stopping: ``asha`` stops trials whose per-epoch metric trails the others'
    (Ray Tune's ASHAScheduler); ``fifo`` runs every trial to the end."""

    type: Literal["asha", "fifo"] = Field(description="asha or fifo.")
    grace_period: int = Field(ge=1, description="Reports a trial always gets before a stop.")
    reduction_factor: float = Field(gt=1, description="ASHA keeps 1 / reduction_factor per rung.")


class Resources(Params):
    """What one trial asks the cluster for: Ray places it on a node that has them free."""

    model_config = ConfigDict(extra="forbid", strict=False, frozen=True, allow_inf_nan=False)

    cpus: float = Field(
        ge=0.25,
        le=1024,
        description="CPUs per trial; also TensorFlow's thread counts (a trial "
        "needs a quarter of a core at least: less would leave TensorFlow no thread).",
    )
    gpus: float = Field(ge=0, le=64, description="GPUs per trial (0 on a CPU-only cluster).")


class SweepSpec(Params):
    """``sweep`` in conf/<env>/sweep.yml: what ``kedro sweep`` runs."""

    name: str = Field(min_length=1, description="The parent MLflow run's name and Ray's.")
    pipeline: str = Field(min_length=1, description="The pipeline each trial runs.")
    params: dict[str, Any] = Field(
        description="Fixed --params of every trial (`training.epochs: 2`), on top of the env."
    )
    search_space: dict[str, Distribution] = Field(
        description="The swept keys (`training.clip_value`), each with its distribution."
    )
    num_trials: int = Field(
        ge=1, le=10_000, description="How many trials Optuna's TPE proposes (each a run)."
    )
    max_concurrent: int = Field(
        ge=1, le=256, description="How many trials run at once, at most (each a process)."
    )
    metric: str = Field(min_length=1, description="The run's MLflow metric to optimise.")
    mode: Literal["min", "max"] = Field(description="Whether lower or higher is better.")
    epoch_metric: str | None = Field(
        description="The MLflow metric logged once per epoch that the scheduler reads while a "
        "trial trains (null: trials report only at the end)."
    )
    scheduler: Scheduler = Field(description="Early stopping.")
    resources: Resources = Field(description="What one trial needs.")
    max_failures: int = Field(
        ge=0, description="Retries of a trial whose process died (a SIGKILL, a lost node)."
    )
    seed: int = Field(ge=0, description="Seeds Optuna's sampler: the same spec proposes the same.")

    @model_validator(mode="after")
    def _not_empty(self) -> SweepSpec:
        if not self.search_space:
            raise ValueError(
                "search_space is empty: name at least one key to sweep, e.g. "
                "training.clip_value: {distribution: loguniform, low: 0.005, high: 0.1}"
            )
        return self


def parse_spec(raw: Any) -> SweepSpec:
    """The spec from conf's ``sweep`` mapping, or a SweepSpecError naming each bad key."""
    if not isinstance(raw, dict):
        raise SweepSpecError(
            "There is no sweep spec: conf/base/sweep.yml (or conf/<env>/sweep.yml) must hold a "
            f"mapping under `sweep:` (got {type(raw).__name__}). Nothing was run."
        )
    try:
        return SweepSpec(**raw)
    except ValidationError as exc:
        raise SweepSpecError(
            f"The sweep spec is wrong: {schema_errors(exc, 'sweep')}. Nothing was run."
        )
    except ValueError as exc:  # a model validator's own message
        raise SweepSpecError(f"The sweep spec is wrong: {exc}. Nothing was run.") from None


def check_against_params(spec: SweepSpec, parameters: dict[str, Any]) -> None:
    """Every value a trial can be handed (the fixed params, both ends of each range, every
    choice) must pass its group's schema and the checks between groups, with the env's other
    values: otherwise the sweep would start trials that die in their first second."""
    groups = {k: v.model_dump() if isinstance(v, BaseModel) else v for k, v in parameters.items()}
    for key in [*spec.params, *spec.search_space]:
        group, _, field = key.partition(".")
        if key in RUNTIME_KEYS:
            raise SweepSpecError(
                f"sweep key '{key}' is set by the sweep itself (each trial's own folder); "
                "remove it from the spec. Nothing was run."
            )
        schema = SCHEMAS.get(group)
        if schema is None or field not in schema.model_fields:
            known = schema and list(schema.model_fields)
            raise SweepSpecError(
                f"sweep key '{key}' is not a parameter: "
                + (
                    f"{group} has the keys {known}"
                    if known
                    else f"the groups are {sorted(SCHEMAS)}"
                )
                + ". Nothing was run."
            )
    fixed = dict(spec.params)
    candidates = [(None, None)] + [
        (key, value) for key, dist in spec.search_space.items() for value in dist.edge_values()
    ]
    for key, value in candidates:
        trial = {**fixed, **({key: value} if key else {})}
        merged = {g: dict(v) if isinstance(v, dict) else v for g, v in groups.items()}
        for name, item in trial.items():
            group, _, field = name.partition(".")
            merged.setdefault(group, {})[field] = item
        where = f"sweep.search_space.{key} = {value!r}" if key else "sweep.params"
        faults = value_faults(merged)
        if faults:
            raise SweepSpecError(
                f"{where} would give trials a bad parameter: {faults}. Nothing was run."
            )
        try:
            check_groups(merged)
        except ValueError as exc:
            raise SweepSpecError(f"{where}: {exc} Nothing was run.") from None
