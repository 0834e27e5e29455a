"""Operator override files (docs/calendar-overrides.md): a year's calendar or a locality's office hours, in YAML."""

from __future__ import annotations

import yaml
from pydantic import ValidationError

from schemas.clock import CalendarOverride, OfficeHoursOverride
from services.clock.errors import ClockInputError, describe


class _TextDatesLoader(yaml.SafeLoader):
    """Leaves dates as text, so pydantic checks them and names the field of a date that does not exist."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_override(text: str, name: str) -> CalendarOverride | OfficeHoursOverride:
    """The override the file holds, or a ClockInputError that names the file, the field and the rule."""
    try:
        document = yaml.load(text, Loader=_TextDatesLoader)
    except yaml.YAMLError as error:
        raise ClockInputError(f"{name}: not valid YAML ({error})") from None
    if not isinstance(document, dict):
        raise ClockInputError(f"{name}: expected a mapping with `year` (a calendar) or `locality` (office hours)")
    if ("year" in document) == ("locality" in document):
        raise ClockInputError(f"{name}: give exactly one of `year` (a calendar) or `locality` (office hours)")
    model: type[CalendarOverride | OfficeHoursOverride] = (
        CalendarOverride if "year" in document else OfficeHoursOverride
    )
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise ClockInputError(f"{name}: {describe(error)}") from None
