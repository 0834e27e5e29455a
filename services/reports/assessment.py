"""The assessment (營商環境考核): score totals per department and per locality, their ranking, and the typical cases.

Pure functions over what the store holds for a period, so the rules can be checked by hand:
- a department's points are its score events in the period, each priced by its locality's weights where that
  locality names the kind, else at the points the ledger recorded (the default weights);
- a locality's points are those of every unit that belongs to it (the locality's government and its departments);
- ranks go from the most points down; equal points share a place (1, 2, 2, 4);
- typical cases: an improper return the coordinator upheld is buck-passing (推諉); a case past its committed
  deadline by more than N working days, closed in the period or still open at its end, is a delay (拖延).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from activities.store.ledger.period import CardFacts, CaseFacts, ScoreFacts
from schemas.clock import SHANGHAI
from schemas.ledger import CardReason, ScoreKind
from schemas.reports import AssessedUnit, ReportPeriod, ScoreWeights, TypicalCase, TypicalCaseKind

_REVOKED_KIND = {"yellow": ScoreKind.CARD_YELLOW, "red": ScoreKind.CARD_RED}


@dataclass(frozen=True)
class Unit:
    """A department as the registry names it, with the locality it belongs to (itself for a locality)."""

    code: str
    name: str
    locality: str | None
    is_locality: bool


def priced(event: ScoreFacts, locality: str | None, weights: ScoreWeights) -> Decimal:
    """The event's points under its locality's weights; a revocation takes back the card's price there."""
    kind = ScoreKind(event.kind)
    if kind is ScoreKind.CARD_REVOKED and event.revoked_card_level in _REVOKED_KIND:
        card_kind = _REVOKED_KIND[event.revoked_card_level]
        return -weights.points(locality, card_kind, -event.points)
    return weights.points(locality, kind, event.points)


@dataclass
class _Tally:
    points: Decimal = Decimal(0)
    recorded: Decimal = Decimal(0)
    events: dict[ScoreKind, int] = field(default_factory=dict)

    def add(self, other: _Tally) -> None:
        self.points += other.points
        self.recorded += other.recorded
        for kind, count in other.events.items():
            self.events[kind] = self.events.get(kind, 0) + count


def ranked(tallies: Iterable[tuple[Unit, _Tally]]) -> list[AssessedUnit]:
    """Most points first; equal points share a place, then read by code."""
    ordered = sorted(tallies, key=lambda pair: (-pair[1].points, pair[0].code))
    result: list[AssessedUnit] = []
    for index, (unit, tally) in enumerate(ordered):
        rank = result[-1].rank if result and result[-1].points == tally.points else index + 1
        result.append(
            AssessedUnit(
                code=unit.code,
                name=unit.name,
                locality=unit.locality,
                points=tally.points,
                recorded_points=tally.recorded,
                events=dict(sorted(tally.events.items())),
                rank=rank,
            )
        )
    return result


def assess(
    events: Iterable[ScoreFacts],
    units: Mapping[str, Unit],
    weights: ScoreWeights,
    recorded: Mapping[str, Decimal],
) -> tuple[list[AssessedUnit], list[AssessedUnit]]:
    """(departments, localities), each ranked; `recorded` holds each department's points as the ledger totals them.

    A code the registry does not know is assessed under its own code, at city level.
    """
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    for event in events:
        unit = units.get(event.department_code) or Unit(event.department_code, event.department_code, None, False)
        tally = tallies[unit.code]
        tally.points += priced(event, unit.locality, weights)
        tally.events[ScoreKind(event.kind)] = tally.events.get(ScoreKind(event.kind), 0) + 1
    for code, points in recorded.items():
        tallies[code].recorded = points
    known = {code: units.get(code) or Unit(code, code, None, False) for code in tallies}
    localities: dict[str, _Tally] = defaultdict(_Tally)
    for code, unit in known.items():
        if unit.locality is not None:
            localities[unit.locality].add(tallies[code])
    return (
        ranked((known[code], tally) for code, tally in tallies.items()),
        ranked((units.get(code) or Unit(code, code, code, True), tally) for code, tally in localities.items()),
    )


def working_days_between(after: date, through: date, is_working: Callable[[date], bool]) -> int:
    """Working days d with after < d <= through."""
    days, day = 0, after
    while day < through:
        day += timedelta(days=1)
        days += is_working(day)
    return days


def _local_day(instant: datetime) -> date:
    return instant.astimezone(SHANGHAI).date()


def typical_cases(
    period: ReportPeriod,
    cases: Iterable[CaseFacts],
    cards: Iterable[CardFacts],
    threshold: int,
    is_working: Callable[[date], bool],
    names: Mapping[str, str],
) -> list[TypicalCase]:
    """Buck-passing (upheld improper returns not revoked on appeal) and delays past `threshold` working days."""
    found: list[TypicalCase] = []
    for card in cards:
        if card.reason == CardReason.IMPROPER_RETURN.value and card.revoked_at is None:
            found.append(
                TypicalCase(
                    kind=TypicalCaseKind.BUCK_PASSING,
                    subject_id=card.subject_id,
                    department_code=card.department_code,
                    department_name=names.get(card.department_code, card.department_code),
                    matter_code=card.matter_code,
                    locality=card.locality,
                    at=card.issued_at,
                )
            )
    for case in cases:
        deadline = case.committed_deadline
        if deadline is None or case.lead_department is None:
            continue
        if case.closed_at is not None and case.closed_at < period.start:
            continue  # reported with the period it closed in
        still_open = case.closed_at is None or case.closed_at >= period.end
        until = period.end - timedelta(microseconds=1) if still_open or case.closed_at is None else case.closed_at
        if until <= deadline:
            continue
        late = working_days_between(_local_day(deadline), _local_day(until), is_working)
        if late > threshold:
            found.append(
                TypicalCase(
                    kind=TypicalCaseKind.DELAY,
                    subject_id=case.case_id,
                    department_code=case.lead_department,
                    department_name=names.get(case.lead_department, case.lead_department),
                    matter_code=case.matter_code,
                    locality=case.locality,
                    at=deadline,
                    working_days_late=late,
                    still_open=still_open,
                )
            )
    return sorted(found, key=lambda typical: (typical.kind.value, typical.at, typical.subject_id))
