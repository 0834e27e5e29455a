"""Override files: the documented examples parse, and every malformed file is refused with the field and rule."""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path

import pytest

from schemas.clock import CalendarOverride, OfficeHoursOverride
from services.clock.errors import ClockInputError
from services.clock.overrides import parse_override

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"

GOOD_YEAR = """
year: 2027
source: test notice
holidays:
  - {name: New Year's Day, from: 2027-01-01, to: 2027-01-03}
makeup_workdays:
  - {name: Spring Festival, dates: [2027-02-20]}
"""


def test_the_documented_calendar_example_parses() -> None:
    override = parse_override((EXAMPLES / "calendar-2027.example.yaml").read_text(encoding="utf-8"), "example")
    assert isinstance(override, CalendarOverride)
    year = override.to_year()
    assert year.year == 2027
    assert date(2027, 10, 1) in {named.day for named in year.days_off}
    assert [named.day for named in year.makeup_workdays] == [
        date(2027, 2, 20),
        date(2027, 4, 25),
        date(2027, 9, 26),
        date(2027, 10, 9),
    ]


def test_the_documented_office_hours_example_parses() -> None:
    override = parse_override((EXAMPLES / "office-hours-411100.example.yaml").read_text(encoding="utf-8"), "example")
    assert isinstance(override, OfficeHoursOverride)
    assert override.locality == "411100"
    assert override.parts_on(date(2026, 7, 1)) == [(time(8, 30), time(12)), (time(14, 30), time(17, 30))]
    assert override.parts_on(date(2026, 12, 1)) == [(time(8, 30), time(12)), (time(14), time(17))]


def test_a_good_year_parses() -> None:
    override = parse_override(GOOD_YEAR, "2027.yaml")
    assert isinstance(override, CalendarOverride)
    assert len(override.to_year().days_off) == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("year: [unclosed", "not valid YAML"),
        ("- just a list", "expected a mapping"),
        ("year: 2027\nlocality: x\nsource: s", "exactly one of"),
        ("source: s", "exactly one of"),
        ("year: 2027", "source: Field required"),
        ("year: 2027\nsource: s\nholiday: []", "holiday: Extra inputs are not permitted"),
        ("year: 2027\nsource: s\nholidays: [{name: x, dates: [2026-12-31]}]", "2026-12-31 (x) is not in 2027"),
        (
            "year: 2027\nsource: s\nholidays: [{name: a, dates: [2027-01-01]}, {name: b, dates: [2027-01-01]}]",
            "listed twice",
        ),
        ("year: 2027\nsource: s\nmakeup_workdays: [{name: x, dates: [2027-01-04]}]", "is a weekday"),
        ("year: 2027\nsource: s\nholidays: [{name: x, from: 2027-01-03, to: 2027-01-01}]", "is before `from`"),
        ("year: 2027\nsource: s\nholidays: [{name: x, from: 2027-01-03}]", "needs both `from` and `to`"),
        ("year: 2027\nsource: s\nholidays: [{name: x}]", "either `dates` or both"),
        ("year: 2027\nsource: s\nholidays: [{name: x, dates: [2027-02-30]}]", "holidays.0.dates.0"),
        ("year: 1800\nsource: s", "year: Input should be greater than or equal to 1949"),
        ("locality: x\nhours: ['8:30-12:00']", "must look like 08:30-12:00"),
        ("locality: x\nhours: ['12:00-08:30']", "closes before it opens"),
        ("locality: x\nhours: ['08:30-12:00', '11:00-17:00']", "must not overlap"),
        ("locality: x\nhours: []", "at least one part"),
        ("locality: x\nhours: ['25:00-26:00']", "not a time of day"),
        (
            "locality: x\nseasons: [{name: a, from: '05-01', to: '09-30', hours: ['09:00-17:00']},"
            " {name: b, from: '09-01', to: '10-31', hours: ['09:00-17:00']}]",
            "overlap on 09-01",
        ),
        ("locality: x\nseasons: [{name: a, from: '13-01', to: '09-30', hours: ['09:00-17:00']}]", "month"),
    ],
)
def test_a_malformed_file_is_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(ClockInputError, match=re.escape(message)) as raised:
        parse_override(text, "bad.yaml")
    assert str(raised.value).startswith("bad.yaml: ")
