"""What every handle shares: the Temporal client, where it points, how long to wait, and the command path.

A command is built from its model's fields (or given whole), sent as a workflow update whose ID is the command
id, and awaited for at most `within` seconds. The workflow remembers the ids it applied, so sending the same command id
again, after a timeout or a crash, answers the first result instead of applying it twice.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from temporalio.client import Client, WorkflowHandle

from caseloop.direct.failures import Call, guarded, invalid
from caseloop.errors import InputRejected
from schemas.limits import LimitText
from schemas.registry import Limit

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

# Command ids travel in update IDs: printable ASCII without spaces, as the hand-off's schema says. The front door
# sends `<department>/<Idempotency-Key>` (64 + 1 + 100 characters at most), hence the room.
COMMAND_ID = re.compile(r"^[!-~]{1,200}$")
_LIMIT = TypeAdapter(LimitText)


@dataclass(frozen=True)
class Channel:
    temporal: Client
    target: str
    namespace: str
    task_queue: str
    within: float | None = None

    def call(self, subject: str, command_id: str | None = None) -> Call:
        return Call(target=self.target, namespace=self.namespace, subject=subject, command_id=command_id)

    async def ask(self, subject: str, work: Awaitable[T], within: float | None = None) -> T:
        """A read (query, visibility), answered within `within` seconds, errors translated."""
        return await guarded(self.call(subject), work, self._within(within))

    async def send(
        self,
        handle: WorkflowHandle[Any, Any],
        update: Any,
        command: BaseModel,
        *,
        subject: str,
        command_id: str | None,
        within: float | None,
    ) -> Any:
        """Sends `command` as the update `update` under `command_id` (a new uuid4 when None)."""
        command_id = command_id_of(command_id)
        work = handle.execute_update(update, command, id=command_id)
        return await guarded(self.call(subject, command_id), work, self._within(within))

    def _within(self, within: float | None) -> float | None:
        return self.within if within is None else within


def command_id_of(given: str | None) -> str:
    if given is None:
        return str(uuid.uuid4())
    if not COMMAND_ID.match(given):
        raise InputRejected(
            f"command_id must be 1 to 200 printable ASCII characters without spaces, not {given!r}",
            rule="command_id.format",
            field="command_id",
        )
    return given


def build(model: type[M], given: M | None, fields: dict[str, Any]) -> M:
    """The command: `given` as it is, or built from the fields that are not None (so defaults apply)."""
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
