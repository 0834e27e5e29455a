"""The report's tables: one list of rows per section, written as CSV files and shown in the Markdown and the PDF."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from schemas.ledger import ScoreKind
from schemas.reports import AssessedUnit, Hotspot, ReportFigures

Cell = str | int


@dataclass(frozen=True)
class Table:
    name: str  # the CSV file's stem
    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[Cell]]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return out.getvalue()


def _rate(figures: ReportFigures) -> str:
    rate = figures.on_time.rate
    return "-" if rate is None else f"{rate:.1%}"


def volumes(figures: ReportFigures) -> Table:
    v, t, e = figures.volumes, figures.on_time, figures.escalations
    cards = figures.cards
    rows: list[tuple[str, Cell]] = [
        ("cases opened", v.cases_opened),
        ("cases closed", v.cases_closed),
        ("cases closed on time", t.on_time),
        ("cases closed late", t.late),
        ("on-time rate", _rate(figures)),
        ("cases open at the end", v.cases_open_at_end),
        ("hand-offs created", v.handoffs_created),
        ("hand-off loops closed", v.handoffs_closed),
        ("hand-off loops open at the end", v.handoffs_open_at_end),
        ("yellow cards", sum(c.yellow for c in cards)),
        ("red cards", sum(c.red for c in cards)),
        ("cards revoked on appeal", sum(c.revoked for c in cards)),
        ("reminder notices", e.reminder_notices),
        ("supervision orders", e.supervision_orders),
        ("circulars", e.circulars),
        ("admonitory talks", e.admonitory_talks),
        ("typical cases", len(figures.typical_cases)),
    ]
    return Table("volumes", "Key figures", ("figure", "value"), rows)


def _points(value: Decimal) -> str:
    return f"{value.normalize():+f}" if value else "0"


def _ranking(name: str, title: str, units: Sequence[AssessedUnit]) -> Table:
    kinds = [kind for kind in ScoreKind]
    header = ("rank", "code", "name", "points", "recorded points", *(kind.value for kind in kinds))
    rows: list[list[Cell]] = [
        [u.rank, u.code, u.name, _points(u.points), _points(u.recorded_points), *(u.events.get(k, 0) for k in kinds)]
        for u in units
    ]
    return Table(name, title, header, rows)


def departments(figures: ReportFigures) -> Table:
    return _ranking("departments", "Ranking of departments", figures.departments)


def localities(figures: ReportFigures) -> Table:
    return _ranking("localities", "Ranking of localities", figures.localities)


def cards(figures: ReportFigures) -> Table:
    rows = [(c.code, c.name, c.yellow, c.red, c.revoked) for c in figures.cards]
    return Table("cards", "Cards by department", ("code", "name", "yellow", "red", "revoked"), rows)


def escalations(figures: ReportFigures) -> Table:
    rows = [(c.code, c.name, c.count) for c in figures.escalations.orders_by_department]
    return Table("supervision-orders", "Supervision orders by department", ("code", "name", "orders"), rows)


def _hotspots(name: str, title: str, spots: Sequence[Hotspot]) -> Table:
    header = ("code", "name", "cases opened", "red cards", "yellow cards", "closed late", "open past deadline")
    rows = [(s.code, s.name, s.cases_opened, s.red_cards, s.yellow_cards, s.late_closes, s.open_overdue) for s in spots]
    return Table(name, title, header, rows)


def matter_hotspots(figures: ReportFigures) -> Table:
    return _hotspots("hotspots-matters", "Hotspots by matter", figures.matter_hotspots)


def locality_hotspots(figures: ReportFigures) -> Table:
    return _hotspots("hotspots-localities", "Hotspots by locality", figures.locality_hotspots)


def typical_cases(figures: ReportFigures) -> Table:
    header = ("kind", "case", "department", "name", "matter", "locality", "at", "working days late", "still open")
    rows = [
        (
            t.kind.value,
            t.subject_id,
            t.department_code,
            t.department_name,
            t.matter_code or "-",
            t.locality or "-",
            t.at.isoformat(timespec="minutes"),
            "-" if t.working_days_late is None else t.working_days_late,
            "yes" if t.still_open else "no",
        )
        for t in figures.typical_cases
    ]
    return Table("typical-cases", "Typical cases", header, rows)


def open_loops(figures: ReportFigures) -> Table:
    header = ("hand-off", "matter", "stage", "from", "to", "created", "next due")
    rows = [
        (
            loop.handoff_id,
            loop.matter_code,
            loop.stage,
            loop.source_department,
            loop.target_department or "-",
            loop.created_at.isoformat(timespec="minutes"),
            loop.next_due_at.isoformat(timespec="minutes") if loop.next_due_at else "-",
        )
        for loop in figures.open_loops
    ]
    return Table("open-loops", "Hand-off loops open at the end", header, rows)


def reconciliation(figures: ReportFigures) -> Table:
    found = figures.reconciliation
    rows = [] if found is None else [(c.code, c.name, c.count) for c in found.departments]
    return Table("reconciliation", "Reconciliation: loops open past their limit", ("code", "name", "loops"), rows)


def channels(figures: ReportFigures) -> Table:
    rows: list[list[Cell]] = [[c.code, c.name, c.taken_in, c.unplaced, c.closed, c.on_time] for c in figures.channels]
    header = ("code", "name", "taken in", "unplaced", "closed", "closed on time")
    return Table("channels", "Cases by intake channel", header, rows)


def scheduled_deliveries(figures: ReportFigures) -> Table:
    return Table(
        "scheduled-deliveries",
        "Scheduled deliveries",
        ["Delivery", "Deliverer", "Receiver", "Expected days", "On time", "Late", "Missing", "Open"],
        [
            [m.delivery_code, m.deliverer, m.receiver, m.expected, m.delivered, m.late, m.missing, m.open]
            for m in figures.scheduled_deliveries
        ],
    )


def all_tables(figures: ReportFigures) -> list[Table]:
    return [
        volumes(figures),
        departments(figures),
        localities(figures),
        cards(figures),
        escalations(figures),
        matter_hotspots(figures),
        locality_hotspots(figures),
        typical_cases(figures),
        open_loops(figures),
        reconciliation(figures),
        channels(figures),
        scheduled_deliveries(figures),
    ]
