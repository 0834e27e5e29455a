"""`caseloop deadline` and `caseloop calendar show|import`: the legal clock for operators and scripts."""

from __future__ import annotations

import argparse
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from activities.clock.activities import load_legal_clock
from activities.clock.errors import ClockInputError, describe
from activities.clock.overrides import parse_override
from activities.clock.profiles import schedule_rungs
from activities.store.calendar import CalendarRepository
from caseloop.errors import InputRejected, NotFound
from caseloop.store import open_store
from schemas.clock import (
    CalendarOverride,
    CardProfileName,
    ClockSpec,
    ClockUnit,
    OfficeHoursOverride,
    Pause,
    RungSchedule,
)

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
        return float(text)
    except ValueError:
        raise InputRejected(f"{field}: {text!r} is not a number", rule="number", field=field) from None


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


async def _deadline(args: argparse.Namespace) -> int:
    spec, profile = _spec(args)
    async with open_store() as sessions:
        clock = await load_legal_clock(sessions, spec.locality)
    try:
        schedule = schedule_rungs(clock, spec, profile)
    except ClockInputError as error:
        raise InputRejected(str(error), rule="horizon") from None
    print(schedule.model_dump_json(indent=2) if args.json else _schedule_text(schedule))
    return 0


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
    async with open_store() as sessions:
        clock = await load_legal_clock(sessions, None)
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
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"{args.file}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputRejected(f"{args.file}: cannot be read as UTF-8 text ({error})", field="FILE") from None
    try:
        override = parse_override(text, path.name)
    except ClockInputError as error:
        raise InputRejected(str(error), rule="override_file", field="FILE") from None
    return _store_override(override, path.name)


async def _store_override(override: CalendarOverride | OfficeHoursOverride, file_name: str) -> int:
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
