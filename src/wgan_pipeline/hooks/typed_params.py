"""Typed parameter groups logged to MLflow key by key, as plain dict groups are."""

from __future__ import annotations

from typing import Any

from kedro.framework.hooks import hook_impl
from pydantic import BaseModel


class TypedParamsAsDictsHook:
    """Before the other ``before_node_run`` hooks (``tryfirst``), each typed group
    (``params:training`` validated into a pydantic model) is shown to them as its dict.
    kedro-mlflow flattens only dicts (``training.clip_value``, ``training.epochs``, ...) and
    would log one ``training`` string for the model. Kedro hands the hooks a copy of the inputs,
    so the node itself still receives the model."""

    @hook_impl(tryfirst=True)
    def before_node_run(self, node, catalog, inputs: dict[str, Any], is_async: bool) -> None:
        for name, value in inputs.items():
            if isinstance(value, BaseModel):
                inputs[name] = value.model_dump()
