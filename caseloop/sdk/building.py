"""Commands and requests built from keyword fields and checked before they travel, so a missing or malformed field
is refused with its field at once; the door checks them again, with the rules only it knows."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from caseloop.errors import InputRejected
from caseloop.sdk.failures import invalid
from schemas.limits import LimitText
from schemas.registry import Limit

M = TypeVar("M", bound=BaseModel)
_LIMIT = TypeAdapter(LimitText)
# Command ids travel in update IDs and audit rows: printable ASCII without spaces, as the workflows take them.
COMMAND_ID = re.compile(r"^[!-~]+$")


def build(model: type[M], given: M | None, fields: dict[str, Any]) -> M:
    """The model: `given` as it is, or built from the fields that are not None (so defaults apply)."""
    present = {name: value for name, value in fields.items() if value is not None}
    if given is not None:
        if not isinstance(given, model):
            raise TypeError(f"expected a {model.__name__}, not a {type(given).__name__}")
        extra = sorted(set(present) - {"actor"})
        if extra:
            raise TypeError(f"pass either a {model.__name__} or its fields, not both ({', '.join(extra)})")
        return given
    try:
        return model.model_validate(present)
    except ValidationError as error:
        raise invalid(error) from None


def limit_of(value: Limit | str | int | Decimal | None, field: str = "limit") -> Limit | None:
    """A limit given as a model or written `<amount> <unit>`, e.g. `15 working-days` or `0.5 office-hours`."""
    if value is None or isinstance(value, Limit):
        return value
    try:
        return _LIMIT.validate_python(value)
    except ValidationError as error:
        raise invalid(error, within=field) from None


def command_id_of(given: str | None, *, longest: int = 100) -> str:
    """The command id to send: the one given (checked), or a new uuid4."""
    if given is None:
        return str(uuid.uuid4())
    if len(given) > longest or not COMMAND_ID.fullmatch(given):
        raise InputRejected(
            f"command_id must be 1 to {longest} printable ASCII characters without spaces, not {given!r}",
            rule="command_id.format",
            field="command_id",
        )
    return given
