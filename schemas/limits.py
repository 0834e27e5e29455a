"""Limits as people write them, `<amount> <unit>` (e.g. `15 working-days`): one parser for registry files,
the SDK, the CLI and the front door."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator

from schemas.registry import Limit, LimitUnit

UNITS = ", ".join(unit.value for unit in LimitUnit)


def limit_fields(value: Any) -> Any:
    """A limit written '<amount> <unit>', e.g. '2 working_days' or '0.5 office_hours', as the model's fields."""
    if isinstance(value, Limit | dict):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise ValueError(f"a limit is written '<amount> <unit>' with a unit of {UNITS}")
    parts = str(value).split()
    if len(parts) == 1:
        try:
            Decimal(parts[0])
        except InvalidOperation:
            raise ValueError(f"a limit is written '<amount> <unit>' with a unit of {UNITS}") from None
        raise ValueError(f"the limit {parts[0]} has no unit: write '{parts[0]} <unit>' with a unit of {UNITS}")
    if len(parts) != 2:
        raise ValueError(f"a limit is written '<amount> <unit>' with a unit of {UNITS}")
    # The clock spells units with '-'; '_' is accepted too, as in the issue that introduced the registry.
    return {"amount": parts[0], "unit": parts[1].replace("_", "-")}


LimitText = Annotated[Limit, BeforeValidator(limit_fields)]
