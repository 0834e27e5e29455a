"""The report as Markdown: the headline first, then each section with its table and chart."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.clock import SHANGHAI
from schemas.reports import ReportFigures, ReportKind, TypicalCaseKind
from services.reports import tables
from services.reports.tables import Table

CHARTS = {
    "on-time": "on-time.png",
    "departments": "ranking-departments.png",
    "localities": "ranking-localities.png",
    "cards": "cards.png",
    "matters": "hotspots-matters.png",
    "localities-hotspots": "hotspots-localities.png",
}


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(table: Table, columns: Sequence[int] | None = None) -> str:
    if not table.rows:
        return "_None in this period._\n"
    picked = list(columns) if columns is not None else list(range(len(table.header)))
    lines = [
        "| " + " | ".join(_cell(table.header[i]) for i in picked) + " |",
        "|" + "|".join("---" for _ in picked) + "|",
    ]
    lines += ["| " + " | ".join(_cell(row[i]) for i in picked) + " |" for row in table.rows]
    return "\n".join(lines) + "\n"


def _loops_line(figures: ReportFigures) -> str:
    listed = len(figures.open_loops)
    if figures.open_loops_total > listed:
        return f"{figures.open_loops_total} open; the oldest {listed}:\n"
    return f"{figures.open_loops_total} open.\n"


def render(figures: ReportFigures) -> str:
    period = figures.period
    heading = "Monthly report (月度調度報告)" if period.kind is ReportKind.MONTHLY else "Quarterly circular (季度通報)"
    start = period.start.astimezone(SHANGHAI).date()
    v, t = figures.volumes, figures.on_time
    rate = "no case closed" if t.rate is None else f"{t.rate:.1%}"
    buck = sum(c.kind is TypicalCaseKind.BUCK_PASSING for c in figures.typical_cases)
    delays = len(figures.typical_cases) - buck
    red = sum(c.red for c in figures.cards)
    yellow = sum(c.yellow for c in figures.cards)
    parts = [
        f"# {heading} {period.label}\n",
        f"Period {start.isoformat()} to {period.last_day.isoformat()} (Asia/Shanghai); generated "
        f"{figures.generated_at.astimezone(SHANGHAI).isoformat(timespec='minutes')}.\n",
        "## Summary\n",
        f"- **{v.cases_opened}** cases opened, **{v.cases_closed}** closed, **{v.cases_open_at_end}** open at the end.",
        f"- On-time rate **{rate}** ({t.on_time} of {t.closed} closed by the committed deadline).",
        f"- **{red}** red and **{yellow}** yellow cards; {figures.escalations.supervision_orders} supervision orders,"
        f" {figures.escalations.circulars} circulars, {figures.escalations.admonitory_talks} admonitory talks.",
        f"- **{v.handoffs_created}** hand-offs pushed, {v.handoffs_closed} loops closed, "
        f"**{v.handoffs_open_at_end}** open at the end.",
        f"- Typical cases: **{buck}** buck-passing, **{delays}** delays of more than "
        f"{figures.delay_threshold_working_days} working days.\n",
        f"![on-time]({CHARTS['on-time']})\n",
        "## Key figures\n",
        _table(tables.volumes(figures)),
        "## Assessment and ranking (考核排名)\n",
        "Points are the period's score events (on-time closes +, cards, redos, bad ratings −, revocations take a "
        "card's points back), each priced at the weights of the department's locality; *recorded points* are the "
        "ledger's own, at the default weights. Equal points share a place.\n",
        "### Departments\n",
        _table(tables.departments(figures), [0, 1, 2, 3, 4]),
        f"![departments]({CHARTS['departments']})\n",
        "### Localities\n",
        "A locality's points are those of its government and of every department that belongs to it.\n",
        _table(tables.localities(figures), [0, 1, 2, 3, 4]),
        f"![localities]({CHARTS['localities']})\n",
        "## Cards and escalations (紅黃牌與督辦)\n",
        _table(tables.cards(figures)),
        f"![cards]({CHARTS['cards']})\n",
        "### Supervision orders by department\n",
        _table(tables.escalations(figures)),
        "## Hotspots (熱點)\n",
        "### By matter\n",
        _table(tables.matter_hotspots(figures)),
        f"![matters]({CHARTS['matters']})\n",
        "### By locality\n",
        _table(tables.locality_hotspots(figures)),
        f"![localities]({CHARTS['localities-hotspots']})\n",
        "## Intake channels (渠道)\n",
        "Records the channels (12345, 好差評, the 不好辦 window, prepaid cards) turned into cases in the period, those "
        "whose mapping failed and were placed by hand, and the channels' cases closed in the period.\n",
        _table(tables.channels(figures)),
        "## Typical cases (典型案例)\n",
        f"Buck-passing: an improper return the coordinator upheld (not revoked on appeal). Delay: a case past its "
        f"committed deadline by more than {figures.delay_threshold_working_days} working days, closed in the period "
        "or still open at its end.\n",
        _table(tables.typical_cases(figures)),
        "## Open loops (hand-offs open at the end)\n",
        _loops_line(figures),
        _table(tables.open_loops(figures)),
        "## Reconciliation of hand-offs (對賬)\n",
    ]
    found = figures.reconciliation
    if found is None:
        parts.append("_No reconciliation was recorded for this period._\n")
    else:
        parts.append(
            f"Run {found.report_id} as of {found.as_of.astimezone(SHANGHAI).isoformat(timespec='minutes')}: "
            f"**{found.open_past_limit}** loops open past their end-to-end limit.\n"
        )
        parts.append(_table(tables.reconciliation(figures)))
    if figures.scheduled_deliveries:
        parts += [
            "## Scheduled deliveries (定時報送)\n",
            "Working days that expected a delivery, and how they ended: on time, late (accepted after the due time, "
            "carded), missing (the day closed with nothing accepted).\n",
            _table(tables.scheduled_deliveries(figures)),
        ]
    return "\n".join(parts)
