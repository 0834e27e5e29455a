"""Bad input to the legal clock: one error type, with a message that names the field and the rule."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from services.errors import InvalidInput


class ClockInputError(InvalidInput, ValueError):
    """A limit, pause, extension or override the clock cannot accept; nothing was computed or stored."""


def describe(error: ValidationError, names: Mapping[str, str] | None = None) -> str:
    """A pydantic error as one readable line per problem: 'limit: Input should be greater than 0'.

    `names` renames top-level fields for the reader, e.g. to the CLI's options.
    """
    lines = []
    for problem in error.errors():
        parts = [str(part) for part in problem["loc"]]
        if parts and names:
            parts[0] = names.get(parts[0], parts[0])
        where = ".".join(parts)
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {message}" if where else message)
    return "; ".join(lines)
