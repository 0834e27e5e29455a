"""`caseloop deadline` and `caseloop calendar show|import`: the legal clock for operators and scripts."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from caseloop.commands.bounds import read_text
from caseloop.errors import CommandError, InputRejected, NotFound
from schemas.clock import (
    CalendarOverride,
    CardProfileName,
    ClockSpec,
    ClockUnit,
    OfficeHoursOverride,
    Pause,
    RungSchedule,
)
from services.clock.calendar import LegalCalendar
from services.clock.deadline import LegalClock
from services.clock.errors import ClockInputError, describe
from services.clock.office_hours import OfficeHours
from services.clock.overrides import parse_override
from services.clock.profiles import schedule_rungs

# The options that fill each field of ClockSpec, so errors name what the user typed.
OPTIONS = {
    "started_at": "--from",
    "limit": "--limit",
    "unit": "--unit",
    "locality": "--locality",
    "pauses": "--paused",
    "extensions": "--extension",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    deadline = subparsers.add_parser(
        "deadline", help="when a limit on the legal clock is due, its card rungs, and which days were skipped"
    )
    deadline.add_argument("--from", dest="started_at", required=True, metavar="ISO_TIME", help="receipt, with zone")
    deadline.add_argument("--limit", required=True, metavar="N", help="the limit, in --unit")
    deadline.add_argument(
        "--unit", required=True, metavar="UNIT", help=f"one of {', '.join(unit.value for unit in ClockUnit)}"
    )
    deadline.add_argument("--locality", metavar="CODE", help="locality whose office hours apply")
    deadline.add_argument("--paused", action="append", default=[], metavar="FROM/TO", help="a suspension (repeatable)")
    deadline.add_argument(
        "--extension", action="append", default=[], metavar="N", help="an approved extension, in --unit (repeatable)"
    )
    deadline.add_argument(
        "--profile",
        default=CardProfileName.DEFAULT.value,
        metavar="NAME",
        help=f"card profile: {', '.join(profile.value for profile in CardProfileName)}",
    )
    deadline.add_argument("--json", action="store_true", help="print the schedule as JSON")
    deadline.set_defaults(handler=_deadline)

    calendar = subparsers.add_parser("calendar", help="the legal calendar: days off, make-up days, overrides")
    verbs = calendar.add_subparsers(dest="verb", metavar="VERB", required=True)
    show = verbs.add_parser("show", help="a year's days off and make-up working days, and where they come from")
    show.add_argument("year", metavar="YEAR")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_show)
    load = verbs.add_parser("import", help="store an override file: a year's calendar or a locality's office hours")
    load.add_argument("file", metavar="FILE")
    load.set_defaults(handler=_import)


def _instant(text: str, field: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputRejected(
            f"{field}: {text!r} is not an ISO 8601 time such as 2026-09-24T10:00+08:00", rule="iso_time", field=field
        ) from None
    if instant.tzinfo is None:
        raise InputRejected(
            f"{field}: {text!r} has no time zone; add one, e.g. +08:00", rule="timezone_aware", field=field
        )
    return instant


def _amount(text: str, field: str) -> float:
    try:
        amount = float(text)
    except ValueError:
        raise InputRejected(f"{field}: {text!r} is not a number", rule="number", field=field) from None
    if not math.isfinite(amount):
        raise InputRejected(f"{field}: {text!r} is not a finite number", rule="number", field=field)
    return amount


def _pause(text: str) -> Pause:
    started, separator, ended = text.partition("/")
    if not separator:
        raise InputRejected(
            f"--paused: {text!r} must be FROM/TO, two ISO 8601 times", rule="interval", field="--paused"
        )
    try:
        return Pause(started_at=_instant(started, "--paused"), ended_at=_instant(ended, "--paused"))
    except ValidationError as error:
        raise InputRejected(f"--paused: {describe(error)}", rule="pause_order", field="--paused") from None


def _spec(args: argparse.Namespace) -> tuple[ClockSpec, CardProfileName]:
    units = {unit.value: unit for unit in ClockUnit}
    if args.unit not in units:
        raise InputRejected(
            f"--unit: unknown unit {args.unit!r}; use one of {', '.join(units)}", rule="known_unit", field="--unit"
        )
    profiles = {profile.value: profile for profile in CardProfileName}
    if args.profile not in profiles:
        raise InputRejected(
            f"--profile: unknown profile {args.profile!r}; use one of {', '.join(profiles)}",
            rule="known_profile",
            field="--profile",
        )
    try:
        spec = ClockSpec(
            started_at=_instant(args.started_at, "--from"),
            limit=_amount(args.limit, "--limit"),
            unit=units[args.unit],
            locality=args.locality,
            pauses=[_pause(text) for text in args.paused],
            extensions=[_amount(text, "--extension") for text in args.extension],
        )
    except ValidationError as error:
        raise InputRejected(describe(error, OPTIONS), rule="clock_spec") from None
    return spec, profiles[args.profile]


async def _legal_clock(locality: str | None) -> LegalClock:
    """The legal clock with the operators' overrides from the store; the built-in calendars and office hours,
    said on stderr, where there is no store to read them from (a fresh machine, a shell outside the stack's data
    directory) or it was never migrated."""
    from caseloop.store_peek import holds_no_overrides, no_sqlite_store
    from workers.settings import get_settings

    url = get_settings().resolved_store_url
    if holds_no_overrides(url, locality):
        return LegalClock(LegalCalendar(), OfficeHours())  # what the store would answer, without SQLAlchemy
    missing = no_sqlite_store(url)  # said without SQLAlchemy as well
    if missing is None:
        from caseloop.store import why_no_store

        missing = await why_no_store(url)
    if missing is not None:
        print(f"caseloop: no operator overrides were read: {missing}; the built-in calendars answer", file=sys.stderr)
        return LegalClock(LegalCalendar(), OfficeHours())
    from caseloop.store import open_store
    from services.clock.service import load_legal_clock

    async with open_store(url) as sessions:
        return await load_legal_clock(sessions, locality)


async def _deadline(args: argparse.Namespace) -> int:
    spec, profile = _spec(args)
    clock = await _legal_clock(spec.locality)
    try:
        schedule = schedule_rungs(clock, spec, profile)
    except (ClockInputError, OverflowError) as error:  # more hours than a timedelta holds are past the horizon too
        field = _beyond_the_horizon(clock, spec, profile)
        said = str(error) if isinstance(error, ClockInputError) else "the deadline lies past any date the clock counts"
        raise InputRejected(f"{OPTIONS[field]}: {said}", rule="clock.horizon", field=field) from None
    print(schedule.model_dump_json(indent=2) if args.json else _schedule_text(schedule))
    return 0


def _beyond_the_horizon(clock: LegalClock, spec: ClockSpec, profile: CardProfileName) -> str:
    """Which field carried the deadline past the clock's horizon: the limit itself, its extensions, or the pauses.

    Asks the clock again without them, so the horizon stays the clock's own rule."""
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("limit", {"extensions": [], "pauses": []}),
        ("extensions", {"pauses": []}),
    ]
    for field, without in attempts:
        if field == "extensions" and not spec.extensions:
            continue
        try:
            schedule_rungs(clock, spec.model_copy(update=without), profile)
        except (ClockInputError, OverflowError):
            return field
    return "pauses"


def _schedule_text(schedule: RungSchedule) -> str:
    deadline = schedule.deadline
    if deadline.estimated:
        estimated = f"yes ({', '.join(str(year) for year in deadline.estimated_years)})"
    elif schedule.estimated_years:
        estimated = f"no (rungs in {', '.join(str(year) for year in schedule.estimated_years)} are estimated)"
    else:
        estimated = "no"
    lines = [
        f"due        {deadline.due_at.isoformat()}",
        f"estimated  {estimated}",
        f"limit      {deadline.explanation[0]}",
        f"rungs ({schedule.profile.value} profile)",
    ]
    width = max(len(rung.kind.value) for rung in schedule.rungs)
    for rung in schedule.rungs:
        mark = " (estimated)" if rung.estimated else ""
        lines.append(f"  {rung.kind.value:<{width}}  {rung.at.isoformat()}  {rung.rule}{mark}")
    lines.append("why")
    lines.extend(f"  {line}" for line in deadline.explanation[1:])
    return "\n".join(lines)


def _year(text: str) -> int:
    try:
        year = int(text)
    except ValueError:
        raise InputRejected(f"YEAR: {text!r} is not a year", rule="year", field="YEAR") from None
    if not 1949 <= year <= 2200:
        raise InputRejected(f"YEAR: {year} is outside 1949–2200", rule="year", field="YEAR")
    return year


async def _show(args: argparse.Namespace) -> int:
    year = _year(args.year)
    clock = await _legal_clock(None)
    data = clock.calendar.year(year)
    if args.json:
        print(data.model_dump_json(indent=2))
        return 0
    lines = [f"{year}: {data.source.value} — {data.label}", "days off (besides ordinary weekends)"]
    lines.extend(f"  {named.day} {named.day:%a}  {named.name}" for named in data.days_off)
    lines.append("make-up working days")
    lines.extend(f"  {named.day} {named.day:%a}  {named.name}" for named in data.makeup_workdays)
    if not data.makeup_workdays:
        lines.append("  none")
    print("\n".join(lines))
    return 0


def _import(args: argparse.Namespace) -> Coroutine[Any, Any, int]:
    """Reads and checks the file before anything touches the store, so a bad file stores nothing."""
    path = Path(args.file)
    try:
        text = read_text(path, "FILE")
    except FileNotFoundError:
        raise NotFound(f"{args.file}: no such file") from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise InputRejected(f"FILE: cannot read {args.file}: {reason}", rule="file.unreadable", field="FILE") from None
    try:
        override = parse_override(text, path.name)
    except ClockInputError as error:
        raise InputRejected(str(error), rule="override_file", field="FILE") from None
    return _store_override(override, path.name)


async def _store_override(override: CalendarOverride | OfficeHoursOverride, file_name: str) -> int:
    from activities.store.calendar import CalendarRepository
    from caseloop.store import open_store, why_no_store

    missing = await why_no_store()
    if missing is not None:
        raise CommandError(f"nothing was imported: {missing}")
    now = datetime.now(UTC)
    async with open_store() as sessions, sessions.begin() as session:
        repository = CalendarRepository(session)
        if isinstance(override, CalendarOverride):
            await repository.replace_year(override, file_name, now)
            year = override.to_year()
            summary = (
                f"imported {override.year}: {len(year.days_off)} days off, "
                f"{len(year.makeup_workdays)} make-up working days ({override.source})"
            )
        else:
            await repository.replace_office_hours(override, now)
            seasons = ", ".join(season.name for season in override.seasons) or "no seasons"
            summary = f"imported office hours of {override.locality}: {', '.join(override.hours)} ({seasons})"
    print(summary)
    return 0
