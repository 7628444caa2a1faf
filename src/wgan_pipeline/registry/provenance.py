"""Whose numbers a released generator carries: its own training's and its own evaluation's, never
a file another run left.

The training saves, beside its generators, a record of them (``training_record``: each one's
weight hash, its epoch, the data set and the whole training configuration), and the evaluation's
table names the generator it judged (its ``generator`` column, the same hash). The release
checks both against the generators it loads before anything is logged or registered: a run
killed after saving its generator, before its record or evaluation, leaves a generator that
another run's files would otherwise describe.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from wgan_pipeline.errors import Refused


class ProvenanceError(Refused, RuntimeError):
    """A generator the release would tag with another generator's figures or settings."""


def check_provenance(
    identities: Mapping[str, str],
    record: Mapping[str, Any] | None,
    metrics: Any | None,
    *,
    training: Mapping[str, Any] | None = None,
    env: str | None = None,
) -> None:
    """Refuse unless ``record`` (the training record) describes each generator of
    ``identities`` (``{"generator": hash, "generator_last": hash}``, those to release) and, when
    given, ``metrics`` (the evaluation's table) judged ``identities["generator"]``.

    ``training`` (this run's ``params:training``) and ``env`` only shape the command the message
    names: the --params by which the generator's training differs from this run's."""
    tail = " Nothing was logged or registered."
    gan = _command(env, "gan")
    if record is None:
        raise ProvenanceError(
            "The saved generators have no training record (training_record.json beside them in "
            "data/06_models/<dataset>/): they were saved by an older version of this project or "
            f"by a run stopped before it saved the record. Train again with `{gan}`." + tail
        )
    for name, identity in identities.items():
        described = (record.get(name) or {}).get("identity")
        if described != identity:
            raise ProvenanceError(
                f"The saved {name} (weights {identity}) is not the one the latest training "
                f"record describes ({described}): the run that saved it was stopped before it "
                f"saved its record. Run that training again (`{gan}` with the --params it was "
                "started with): it finishes from its checkpoint without training again, or "
                "trains anew if the checkpoint is gone." + tail
            )
    if metrics is None:
        return
    judged = set(metrics["generator"]) if "generator" in metrics.columns else set()
    identity = identities["generator"]
    if judged != {identity}:
        params = _params(record, training)
        command = _command(env, "evaluation") + (f" --params {params}" if params else "")
        other = f"generator {', '.join(sorted(map(str, judged)))}" if judged else "an unnamed one"
        raise ProvenanceError(
            f"The saved generator (weights {identity}, trained on {record.get('dataset')}"
            f"{' with ' + params if params else ''}) has no evaluation of its own: the "
            f"evaluation table (evaluation_metrics.csv) is of {other}, another run's. Evaluate "
            f"it first with `{command}`, which also releases it." + tail
        )


def _command(env: str | None, pipeline: str) -> str:
    return f"kedro run{f' --env {env}' if env else ''} --pipelines {pipeline}"


def _params(record: Mapping[str, Any], training: Mapping[str, Any] | None) -> str:
    """The ``--params`` that give this run the record's training settings: each key whose value
    differs from ``training``'s (all of them without ``training``)."""
    trained = record.get("training") or {}
    ours = training or {}
    return ",".join(
        f"training.{key}={_text(value)}"
        for key, value in sorted(trained.items())
        if key not in ours or _text(ours[key]) != _text(value)
    )


def _text(value: Any) -> str:
    """A parameter value as YAML (and so ``--params``) reads it back."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, list | tuple | Mapping):
        return json.dumps(value)
    return str(value)
