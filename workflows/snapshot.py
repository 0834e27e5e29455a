"""A deep copy of a workflow's state for a transition's preview.

A transition runs its rules first on a copy, to learn which deadlines to ask the legal clock for before the state
moves. `model_copy(deep=True)` goes through `copy.deepcopy`'s generic dispatch for every model, list and leaf; at
the 17:30 instant that copy was the largest share of the worker's Python CPU that is ours (bench/README.md). This
copy knows the shapes a state is made of (pydantic models, lists, dicts, immutable leaves), builds them directly
and validates nothing, so a state that has outgrown a bound it was validated against still copies as it is. An
object the state holds twice is copied once, as `copy.deepcopy` does; anything else falls back to it.
"""

from __future__ import annotations

import copy
import datetime
import decimal
import enum
import uuid
from typing import Any, TypeVar

from pydantic import BaseModel

T = TypeVar("T")

_IMMUTABLE: frozenset[type] = frozenset(
    {
        str,
        int,
        float,
        bool,
        type(None),
        bytes,
        datetime.datetime,
        datetime.date,
        datetime.time,
        datetime.timedelta,
        decimal.Decimal,
        uuid.UUID,
    }
)

_set = object.__setattr__


def detached_copy(value: T) -> T:
    """A copy that shares nothing mutable with `value`: changing one never shows in the other."""
    copied: T = _copy(value, {})
    return copied


def _copy(value: Any, memo: dict[int, Any]) -> Any:
    kind = type(value)
    if kind in _IMMUTABLE or isinstance(value, enum.Enum):
        return value
    seen = memo.get(id(value))
    if seen is not None:
        return seen
    copied: Any
    if kind is list:
        copied = [_copy(item, memo) for item in value]
    elif kind is dict:
        copied = {key: _copy(item, memo) for key, item in value.items()}
    elif isinstance(value, BaseModel):
        copied = object.__new__(kind)
        _set(copied, "__dict__", {name: _copy(item, memo) for name, item in value.__dict__.items()})
        extra, private = value.__pydantic_extra__, value.__pydantic_private__
        _set(copied, "__pydantic_extra__", None if extra is None else _copy(extra, memo))
        _set(copied, "__pydantic_fields_set__", set(value.__pydantic_fields_set__))
        _set(copied, "__pydantic_private__", None if private is None else _copy(private, memo))
    else:
        copied = copy.deepcopy(value)
    memo[id(value)] = copied
    return copied
