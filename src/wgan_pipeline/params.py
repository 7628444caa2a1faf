"""The base of every parameter group: strict types, no unknown keys, messages that list the keys."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


class Params(BaseModel):
    """A ``params:<group>`` schema. Kedro validates the group against it before any node runs
    (a node argument annotated with the subclass), so a bad value stops ``kedro run`` at once."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys_only(cls, values: Any) -> Any:
        if isinstance(values, dict):
            unknown = sorted(set(values) - set(cls.model_fields))
            if unknown:
                raise ValueError(
                    f"unknown key(s) {unknown}; the allowed keys are {list(cls.model_fields)}"
                )
        return values
