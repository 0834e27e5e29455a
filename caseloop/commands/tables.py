"""Human output of the case and hand-off commands: aligned tables, and instants on the legal calendar's clock."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from enum import Enum

from pydantic import BaseModel

from schemas.clock import shanghai


def cell(value: object) -> str:
    """A value as a table shows it: instants in Shanghai time to the minute, enums by value, nothing as '—'."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return shanghai(value).strftime("%Y-%m-%d %H:%M%z")
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[cell(value) for value in row] for row in rows]
    widths = [max(len(text) for text in column) for column in zip(headers, *cells, strict=False)]
    lines = [
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in [list(headers), *cells]
    ]
    return "\n".join(lines)


def pairs(rows: Sequence[tuple[str, object]]) -> str:
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label.ljust(width)}  {cell(value)}" for label, value in rows)


def as_json(value: BaseModel | Sequence[BaseModel]) -> str:
    """JSON for scripts: a model, or a list of them."""
    if isinstance(value, BaseModel):
        data: object = value.model_dump(mode="json")
    else:
        data = [item.model_dump(mode="json") for item in value]
    return json.dumps(data, indent=2, ensure_ascii=False)
