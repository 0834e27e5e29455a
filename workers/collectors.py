"""Gauges read from the store at each scrape: open cases and hand-offs by stage, colour, department and locality;
inbox depth; this month's cards and score points per department. They are the read model's own counts, so a
restart or a lost event never makes them drift.

A scrape runs a handful of grouped queries (one per family) on the collector's own engine and event loop, in a
thread of its own: Prometheus' HTTP thread waits for it, the worker's loop never does. Department and locality
labels take registry codes only (`unregistered` for a code gone from it, `none` for no code), and the scrape
refreshes the codes the counters admit.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import case, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.metrics import KNOWN_CODES
from activities.store.db import create_engine
from activities.store.delivery import InboxEntry
from activities.store.intake import IntakeChannel
from activities.store.ledger.cards import Card
from activities.store.ledger.cases import CaseRecord
from activities.store.ledger.handoffs import HandoffRecord
from activities.store.ledger.meetings import JointMeeting
from activities.store.ledger.scores import ScoreEvent
from activities.store.registry import Department
from schemas.case.stages import CaseStage
from schemas.clock import SHANGHAI
from schemas.handoff import HandoffStage

log = structlog.get_logger(__name__)

NONE = "none"
UNREGISTERED = "unregistered"
OTHER = "other"
_CASE_STAGES = frozenset(stage.value for stage in CaseStage if stage.is_open)
_HANDOFF_STAGES = frozenset(stage.value for stage in HandoffStage if stage.is_open)
_COLOURS = frozenset(("green", "blue", "yellow", "orange", "red"))


@dataclass
class Reading:
    """One scrape's rows, already grouped by the store."""

    codes: frozenset[str]
    cases: list[tuple[str, str, str | None, str | None, int]] = field(default_factory=list)
    handoffs: list[tuple[str, str | None, str | None, str | None, int, int]] = field(default_factory=list)
    inbox: list[tuple[str, int, datetime | None]] = field(default_factory=list)
    cards: list[tuple[str, str, int]] = field(default_factory=list)
    scores: list[tuple[str, float]] = field(default_factory=list)
    meetings: list[list[str]] = field(default_factory=list)  # the departments of each open joint meeting
    channel_codes: frozenset[str] = frozenset()  # the intake channels of the registry
    channel_cases: list[tuple[str, str, str, int]] = field(default_factory=list)  # channel, stage, colour, count
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


def month_start(now: datetime) -> datetime:
    """The first instant of `now`'s calendar month in the city's time zone (the assessment month)."""
    local = now.astimezone(SHANGHAI)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def read_store(engine: AsyncEngine, now: datetime) -> Reading:
    since = month_start(now)
    past = case((HandoffRecord.next_due_at < now, 1), else_=0).label("past_limit")
    async with engine.connect() as connection:
        codes = frozenset((await connection.scalars(select(Department.code))).all())
        cases = await connection.execute(
            select(
                CaseRecord.stage, CaseRecord.sla_colour, CaseRecord.lead_department, CaseRecord.locality, func.count()
            )
            .where(CaseRecord.closed_at.is_(None), CaseRecord.stage.in_(_CASE_STAGES))
            .group_by(CaseRecord.stage, CaseRecord.sla_colour, CaseRecord.lead_department, CaseRecord.locality)
        )
        handoffs = await connection.execute(
            select(
                HandoffRecord.stage,
                HandoffRecord.sla_colour,
                HandoffRecord.target_department,
                HandoffRecord.locality,
                past,
                func.count(),
            )
            .where(HandoffRecord.closed_at.is_(None), HandoffRecord.stage.in_(_HANDOFF_STAGES))
            # By the label: the expression carries a parameter, which PostgreSQL would not match as the same one.
            .group_by(
                HandoffRecord.stage,
                HandoffRecord.sla_colour,
                HandoffRecord.target_department,
                HandoffRecord.locality,
                literal_column("past_limit"),
            )
        )
        inbox = await connection.execute(
            select(InboxEntry.department_code, func.count(), func.min(InboxEntry.received_at))
            .where(InboxEntry.acknowledged_at.is_(None))
            .group_by(InboxEntry.department_code)
        )
        cards = await connection.execute(
            select(Card.department_code, Card.level, func.count())
            .where(Card.issued_at >= since, Card.revoked_at.is_(None))
            .group_by(Card.department_code, Card.level)
        )
        scores = await connection.execute(
            select(ScoreEvent.department_code, func.sum(ScoreEvent.points))
            .where(ScoreEvent.occurred_at >= since)
            .group_by(ScoreEvent.department_code)
        )
        channel_codes = frozenset((await connection.scalars(select(IntakeChannel.code))).all())
        channel_cases = await connection.execute(
            select(CaseRecord.channel, CaseRecord.stage, CaseRecord.sla_colour, func.count())
            .where(CaseRecord.closed_at.is_(None), CaseRecord.stage.in_(_CASE_STAGES), CaseRecord.channel.is_not(None))
            .group_by(CaseRecord.channel, CaseRecord.stage, CaseRecord.sla_colour)
        )
        # Few meetings are ever open at once: their departments (a JSON list) are counted here, not in SQL.
        meetings = await connection.scalars(select(JointMeeting.departments).where(JointMeeting.decided_at.is_(None)))
        return Reading(
            codes=codes,
            cases=[(stage, colour, lead, place, n) for stage, colour, lead, place, n in cases],
            handoffs=[(stage, colour, target, place, past, n) for stage, colour, target, place, past, n in handoffs],
            inbox=[(code, count, _aware(oldest)) for code, count, oldest in inbox],
            cards=[(code, level, n) for code, level, n in cards],
            scores=[(code, float(points or 0)) for code, points in scores],
            meetings=[list(departments or []) for departments in meetings],
            channel_codes=channel_codes,
            channel_cases=[(channel or NONE, stage, colour, n) for channel, stage, colour, n in channel_cases],
            at=now,
        )


def _aware(instant: datetime | str | None) -> datetime | None:
    """min() over an instant column comes back untyped on SQLite: a naive string in UTC."""
    if instant is None:
        return None
    if isinstance(instant, str):
        instant = datetime.fromisoformat(instant)
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


class ReadModelCollector(Collector):
    """The store's gauges, for prometheus-client's registry; `close` when the process stops."""

    def __init__(self, store_url: str, *, timeout: float = 10.0) -> None:
        self._timeout = timeout
        self._engine = create_engine(store_url, keyring=None)  # reads codes and counts only, never sealed fields
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="caseloop-metrics-store", daemon=True)
        self._thread.start()

    def read(self) -> Reading:
        """Reads the store now (from any thread) and refreshes the codes the counters admit."""
        reading = asyncio.run_coroutine_threadsafe(read_store(self._engine, datetime.now(UTC)), self._loop).result(
            self._timeout
        )
        KNOWN_CODES.load(reading.codes)
        return reading

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """What registering the collector asks for: its families, without reading the store."""
        return described()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        started = time.perf_counter()
        up = GaugeMetricFamily("caseloop_read_model_up", "1 when the last scrape read the store, else 0")
        try:
            reading = self.read()
        except Exception as error:  # the store is down or slow: say so, and keep serving the counters
            log.warning("metrics: the store could not be read", error=str(error) or type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families(reading)
        took = GaugeMetricFamily("caseloop_read_model_scrape_seconds", "How long the last read of the store took")
        took.add_metric([], time.perf_counter() - started)
        yield took

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._engine.dispose(), self._loop).result(self._timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=self._timeout)
        self._loop.close()


def described() -> Iterator[GaugeMetricFamily]:
    """Every family a scrape yields, empty."""
    yield GaugeMetricFamily("caseloop_read_model_up", "")
    yield from families(Reading(codes=frozenset()))
    yield GaugeMetricFamily("caseloop_read_model_scrape_seconds", "")


def families(reading: Reading) -> Iterator[GaugeMetricFamily]:
    def code(value: str | None) -> str:
        if value is None:
            return NONE
        return value if value in reading.codes else UNREGISTERED

    open_cases = GaugeMetricFamily(
        "caseloop_open_cases",
        "Open cases by stage, SLA colour, lead department and locality (from the read model)",
        labels=["stage", "sla_colour", "department", "locality"],
    )
    for labels, count in _summed(
        (
            (
                stage if stage in _CASE_STAGES else OTHER,
                colour if colour in _COLOURS else OTHER,
                code(lead),
                code(place),
            ),
            n,
        )
        for stage, colour, lead, place, n in reading.cases
    ):
        open_cases.add_metric(list(labels), count)
    yield open_cases

    channel_cases = GaugeMetricFamily(
        "caseloop_open_channel_cases",
        "Open cases taken in from an intake channel, by channel, stage and SLA colour (from the read model)",
        labels=["channel", "stage", "sla_colour"],
    )
    for labels, count in _summed(
        (
            (
                channel if channel in reading.channel_codes else UNREGISTERED,
                stage if stage in _CASE_STAGES else OTHER,
                colour if colour in _COLOURS else OTHER,
            ),
            n,
        )
        for channel, stage, colour, n in reading.channel_cases
    ):
        channel_cases.add_metric(list(labels), count)
    yield channel_cases

    open_loops = GaugeMetricFamily(
        "caseloop_open_handoffs",
        "Open hand-offs by stage, SLA colour, receiving department, locality and whether the step due is past its "
        "limit",
        labels=["stage", "sla_colour", "department", "locality", "past_limit"],
    )
    for labels, count in _summed(
        (
            (
                stage if stage in _HANDOFF_STAGES else OTHER,
                NONE if colour is None else colour if colour in _COLOURS else OTHER,
                code(target),
                code(place),
                "true" if past else "false",
            ),
            n,
        )
        for stage, colour, target, place, past, n in reading.handoffs
    ):
        open_loops.add_metric(list(labels), count)
    yield open_loops

    depth = GaugeMetricFamily(
        "caseloop_inbox_depth", "Pushes waiting unacknowledged in a department's inbox", labels=["department"]
    )
    oldest = GaugeMetricFamily(
        "caseloop_inbox_oldest_age_seconds",
        "Age of the oldest unacknowledged push in a department's inbox",
        labels=["department"],
    )
    ages: dict[str, float] = {}
    for labels, count in _summed(((code(dept),), n) for dept, n, _ in reading.inbox):
        depth.add_metric(list(labels), count)
    for dept, _, received in reading.inbox:
        if received is not None:
            age = (reading.at - received).total_seconds()
            ages[code(dept)] = max(ages.get(code(dept), 0.0), age)
    for label, age in sorted(ages.items()):
        oldest.add_metric([label], age)
    yield depth
    yield oldest

    cards = GaugeMetricFamily(
        "caseloop_cards_this_month",
        "Cards issued this calendar month (Asia/Shanghai) and not revoked, by department and colour",
        labels=["department", "colour"],
    )
    for labels, count in _summed(((code(dept), level), n) for dept, level, n in reading.cards):
        cards.add_metric(list(labels), count)
    yield cards

    points = GaugeMetricFamily(
        "caseloop_score_points_this_month",
        "Assessment score points this calendar month (Asia/Shanghai) by department: the ranking's figure",
        labels=["department"],
    )
    for labels, total in _summed(((code(dept),), value) for dept, value in reading.scores):
        points.add_metric(list(labels), total)
    yield points

    meetings = GaugeMetricFamily(
        "caseloop_joint_meetings_open",
        "Leaders' joint meetings (市領導會辦) requested and without an outcome yet, by department involved",
        labels=["department"],
    )
    waiting = dict.fromkeys(sorted(reading.codes), 0.0)  # every registry code, 0 when none is open
    for departments in reading.meetings:
        for label in dict.fromkeys(code(dept) for dept in departments):
            waiting[label] = waiting.get(label, 0.0) + 1
    for label, count in sorted(waiting.items()):
        meetings.add_metric([label], count)
    yield meetings


def _summed(rows: Iterator[tuple[tuple[str, ...], float]]) -> list[tuple[tuple[str, ...], float]]:
    """Rows whose codes fold into one label set (unregistered, other) add up instead of repeating a series."""
    totals: dict[tuple[str, ...], float] = {}
    for labels, value in rows:
        totals[labels] = totals.get(labels, 0) + value
    return sorted(totals.items())
