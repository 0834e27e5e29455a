"""The figures of one monthly or quarterly report, read from the store: volumes, on-time rate, cards and escalations,
hotspots, open loops, the assessment and its ranking, typical cases, and the hand-off reconciliation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store.collaboration import CollaborationRepository, DeliveryDay
from activities.store.intake import IntakeChannel, IntakeRecord, IntakeRepository
from activities.store.ledger.period import CardFacts, CaseFacts, HandoffFacts, PeriodRepository
from activities.store.registry import Department, RegistryRepository
from schemas.clock import SHANGHAI
from schemas.ledger import ScoreTotalsQuery
from schemas.reports import (
    CardCount,
    ChannelVolume,
    CountByCode,
    DeliveryMonth,
    Escalations,
    Hotspot,
    OnTime,
    OpenLoop,
    ReconciliationExtract,
    ReportFigures,
    ReportPeriod,
    ScoreWeights,
    Volumes,
)
from services.clock.service import load_legal_clock
from services.ledger import Ledger
from services.reports.assessment import Unit, assess, typical_cases

# The reconciliation that closes a period runs on the 1st after it; one that ran within this window still counts.
RECONCILIATION_GRACE = timedelta(days=7)


@dataclass(frozen=True)
class ReportOptions:
    weights: ScoreWeights
    delay_threshold_working_days: int
    hotspots: int = 10  # rows per hotspot table
    open_loops: int = 50  # loops listed by name; the count covers all


def units_of(departments: Sequence[Department]) -> dict[str, Unit]:
    """Each department with the locality it belongs to: itself if a locality, else its nearest locality ancestor."""
    by_code = {department.code: department for department in departments}

    def locality(department: Department) -> str | None:
        seen: set[str] = set()
        current: Department | None = department
        while current is not None and current.code not in seen:
            if current.is_locality:
                return current.code
            seen.add(current.code)
            current = by_code.get(current.parent_code) if current.parent_code else None
        return None

    return {d.code: Unit(d.code, d.name, locality(d), d.is_locality) for d in departments}


def _within(instant: datetime | None, period: ReportPeriod) -> bool:
    return instant is not None and period.start <= instant < period.end


def _open_at_end(closed_at: datetime | None, period: ReportPeriod) -> bool:
    return closed_at is None or closed_at >= period.end


def _late(case: CaseFacts) -> bool:
    return (
        case.closed_at is not None and case.committed_deadline is not None and case.closed_at > case.committed_deadline
    )


def _hotspots(
    period: ReportPeriod,
    cases: Sequence[CaseFacts],
    cards: Sequence[CardFacts],
    key_of_case: str,
    key_of_card: str,
    names: Mapping[str, str],
    limit: int,
) -> list[Hotspot]:
    opened: Counter[str] = Counter()
    late: Counter[str] = Counter()
    overdue: Counter[str] = Counter()
    for case in cases:
        code = getattr(case, key_of_case) or "-"
        opened[code] += _within(case.opened_at, period)
        late[code] += _within(case.closed_at, period) and _late(case)
        overdue[code] += (
            _open_at_end(case.closed_at, period)
            and case.committed_deadline is not None
            and case.committed_deadline < period.end
        )
    yellow: Counter[str] = Counter()
    red: Counter[str] = Counter()
    for card in cards:
        code = getattr(card, key_of_card) or "-"
        (red if card.level == "red" else yellow)[code] += card.revoked_at is None
    spots = [
        Hotspot(
            code=code,
            name=names.get(code, code),
            cases_opened=opened[code],
            yellow_cards=yellow[code],
            red_cards=red[code],
            late_closes=late[code],
            open_overdue=overdue[code],
        )
        for code in set(opened) | set(yellow) | set(red)
    ]
    spots = [spot for spot in spots if spot.weight or spot.cases_opened]
    return sorted(spots, key=lambda spot: (-spot.weight, -spot.cases_opened, spot.code))[:limit]


def _cards(cards: Iterable[CardFacts], units: Mapping[str, Unit]) -> list[CardCount]:
    counts: dict[str, list[int]] = {}
    for card in cards:
        row = counts.setdefault(card.department_code, [0, 0, 0])
        row[0 if card.level == "yellow" else 1] += 1
        row[2] += card.revoked_at is not None
    result = [
        CardCount(code=code, name=_name(units, code), yellow=y, red=r, revoked=v) for code, (y, r, v) in counts.items()
    ]
    return sorted(result, key=lambda count: (-count.red, -count.yellow, count.code))


def _channels(
    channels: Sequence[IntakeChannel],
    records: Sequence[IntakeRecord],
    cases: Sequence[CaseFacts],
    period: ReportPeriod,
) -> list[ChannelVolume]:
    """Each channel with a record in the period: taken in, unplaced, and its cases closed (on time) in it."""
    closed = {case.case_id: case for case in cases if _within(case.closed_at, period)}
    volumes: dict[str, ChannelVolume] = {}
    names = {channel.code: channel.name for channel in channels}
    for record in records:
        volume = volumes.setdefault(
            record.channel_code,
            ChannelVolume(
                code=record.channel_code,
                name=names.get(record.channel_code, record.channel_code),
                taken_in=0,
                unplaced=0,
                closed=0,
                on_time=0,
            ),
        )
        if _within(record.created_at, period):
            volume.taken_in += 1
            volume.unplaced += not record.placed
        case = closed.get(record.case_id)
        if case is not None:
            volume.closed += 1
            volume.on_time += not _late(case)
    return [volumes[code] for code in sorted(volumes)]


def _name(units: Mapping[str, Unit], code: str) -> str:
    unit = units.get(code)
    return unit.name if unit is not None else code


def _open_loops(handoffs: Iterable[HandoffFacts], period: ReportPeriod) -> list[OpenLoop]:
    return [
        OpenLoop(
            handoff_id=loop.handoff_id,
            matter_code=loop.matter_code,
            stage=loop.stage,
            source_department=loop.source_department,
            target_department=loop.target_department,
            created_at=loop.created_at,
            next_due_at=loop.next_due_at,
        )
        for loop in handoffs
        if _open_at_end(loop.closed_at, period)
    ]


def delivery_months(days: Sequence[DeliveryDay]) -> list[DeliveryMonth]:
    """Each entry's expected days and how they ended; a day not expected (holiday, weekend) counts nowhere."""
    months: dict[str, DeliveryMonth] = {}
    for day in days:
        if day.status == "not_expected":
            continue
        month = months.setdefault(
            day.delivery_code,
            DeliveryMonth(
                delivery_code=day.delivery_code,
                deliverer=day.deliverer,
                receiver=day.receiver,
                expected=0,
                delivered=0,
                late=0,
                missing=0,
                open=0,
            ),
        )
        month.expected += 1
        if day.status == "delivered":
            if day.late:
                month.late += 1
            else:
                month.delivered += 1
        elif day.status == "missing":
            month.missing += 1
        else:
            month.open += 1
    return [months[code] for code in sorted(months)]


async def read_figures(
    sessions: async_sessionmaker[AsyncSession], period: ReportPeriod, options: ReportOptions, now: datetime
) -> ReportFigures:
    start, end = period.start, period.end
    async with sessions() as session:
        registry = RegistryRepository(session)
        units = units_of(await registry.departments())
        matter_names = {matter.code: matter.name for matter in await registry.matters()}
        store = PeriodRepository(session)
        cases = await store.cases(start, end)
        cards = await store.cards(start, end)
        events = await store.score_events(start, end)
        rungs = await store.ladder_rungs(start, end)
        orders = await store.orders_by_department(start, end)
        handoffs = await store.handoffs(start, end)
        reconciliation = await store.reconciliation(start, end, end + RECONCILIATION_GRACE)
        intake = IntakeRepository(session)
        channels = await intake.channels()
        closed_ids = [case.case_id for case in cases if _within(case.closed_at, period)]
        intake_records = await intake.records_for_period(start, end, closed_ids) if channels else []
        delivery_days = await CollaborationRepository(session).delivery_days_between(
            start.astimezone(SHANGHAI).date(), (end - timedelta(microseconds=1)).astimezone(SHANGHAI).date()
        )
    totals = await Ledger(sessions).score_totals(ScoreTotalsQuery(start=start, end=end))
    recorded = {department.department_code: department.points for department in totals.departments}
    departments, localities = assess(events, units, options.weights, recorded)
    calendar = (await load_legal_clock(sessions, None)).calendar
    names = {code: unit.name for code, unit in units.items()}
    typical = typical_cases(period, cases, cards, options.delay_threshold_working_days, calendar.is_working, names)
    closed = [case for case in cases if _within(case.closed_at, period)]
    open_loops = _open_loops(handoffs, period)
    return ReportFigures(
        period=period,
        generated_at=now,
        volumes=Volumes(
            cases_opened=sum(_within(case.opened_at, period) for case in cases),
            cases_closed=len(closed),
            cases_open_at_end=sum(_open_at_end(case.closed_at, period) for case in cases),
            handoffs_created=sum(_within(loop.created_at, period) for loop in handoffs),
            handoffs_closed=sum(_within(loop.closed_at, period) for loop in handoffs),
            handoffs_open_at_end=len(open_loops),
        ),
        on_time=OnTime(closed=len(closed), on_time=sum(not _late(case) for case in closed)),
        cards=_cards(cards, units),
        escalations=Escalations(
            reminder_notices=rungs.get("reminder_notice", 0),
            supervision_orders=sum(orders.values()),
            circulars=rungs.get("circular", 0),
            admonitory_talks=rungs.get("admonitory_talk", 0),
            orders_by_department=[
                CountByCode(code=code, name=_name(units, code), count=count)
                for code, count in sorted(orders.items(), key=lambda item: (-item[1], item[0]))
            ],
        ),
        matter_hotspots=_hotspots(period, cases, cards, "matter_code", "matter_code", matter_names, options.hotspots),
        locality_hotspots=_hotspots(period, cases, cards, "locality", "locality", names, options.hotspots),
        open_loops=open_loops[: options.open_loops],
        open_loops_total=len(open_loops),
        departments=departments,
        localities=localities,
        typical_cases=typical,
        delay_threshold_working_days=options.delay_threshold_working_days,
        channels=_channels(channels, intake_records, cases, period),
        reconciliation=None
        if reconciliation is None
        else ReconciliationExtract(
            report_id=reconciliation.report_id,
            as_of=reconciliation.as_of,
            open_past_limit=reconciliation.open_past_limit,
            departments=[
                CountByCode(code=code, name=_name(units, code), count=count)
                for code, count in sorted(reconciliation.departments.items(), key=lambda item: (-item[1], item[0]))
            ],
        ),
        scheduled_deliveries=delivery_months(delivery_days),
    )
