"""Monthly and quarterly reports (月調度、季通報): their periods, the assessment they carry, and what a run answers.

A report's figures are read from the store by one activity and written to files there; the workflow that a schedule
starts carries only the period in and the list of written files out, whatever the size of the month.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Final

from pydantic import AwareDatetime, BaseModel, Field, RootModel, model_validator

from schemas.clock import SHANGHAI
from schemas.ledger import ScoreKind
from schemas.text import IDENTIFIER

# The workflow's name on the wire (as schemas.names keeps the others'): never changes.
REPORT_WORKFLOW: Final = "Report"

_MONTH = re.compile(r"(\d{4})-(\d{2})")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")
# Reports cover the years the store can hold cases of; anything else is a typo.
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_WEIGHTED_LOCALITIES = 500


class ReportKind(StrEnum):
    MONTHLY = "monthly"  # 月調度: the month's dispatch report
    QUARTERLY = "quarterly"  # 季通報: the quarter's circular


class ReportPeriod(BaseModel):
    """A calendar month or quarter on the legal calendar's wall clock (Asia/Shanghai): [start, end)."""

    kind: ReportKind
    label: str = Field(description="2026-10 for a month, 2026-Q4 for a quarter")
    start: AwareDatetime
    end: AwareDatetime = Field(description="exclusive")

    @classmethod
    def parse(cls, kind: ReportKind, label: str) -> ReportPeriod:
        """The period a label names; ValueError naming the expected form otherwise."""
        pattern, form = (_MONTH, "YYYY-MM") if kind is ReportKind.MONTHLY else (_QUARTER, "YYYY-Qn (n from 1 to 4)")
        matched = pattern.fullmatch(label.strip())
        if matched is None:
            raise ValueError(f"a {kind.value} period is written {form}, not {label!r}")
        year, number = int(matched.group(1)), int(matched.group(2))
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValueError(f"the year {year} is outside {FIRST_YEAR}–{LAST_YEAR}")
        if kind is ReportKind.MONTHLY and not 1 <= number <= 12:
            raise ValueError(f"the month {number:02d} does not exist: write 01 to 12")
        first_month = number if kind is ReportKind.MONTHLY else 3 * (number - 1) + 1
        months = 1 if kind is ReportKind.MONTHLY else 3
        return cls._of(kind, year, first_month, months)

    @classmethod
    def previous(cls, kind: ReportKind, now: datetime) -> ReportPeriod:
        """The last whole month or quarter before `now` (what a schedule firing on the 1st reports)."""
        local = now.astimezone(SHANGHAI)
        months = 1 if kind is ReportKind.MONTHLY else 3
        first_month = local.month if kind is ReportKind.MONTHLY else 3 * ((local.month - 1) // 3) + 1
        index = local.year * 12 + first_month - 1 - months
        return cls._of(kind, index // 12, index % 12 + 1, months)

    @classmethod
    def _of(cls, kind: ReportKind, year: int, first_month: int, months: int) -> ReportPeriod:
        after = year * 12 + first_month - 1 + months
        start = datetime(year, first_month, 1, tzinfo=SHANGHAI)
        end = datetime(after // 12, after % 12 + 1, 1, tzinfo=SHANGHAI)
        label = f"{year}-{first_month:02d}" if kind is ReportKind.MONTHLY else f"{year}-Q{(first_month - 1) // 3 + 1}"
        return cls(kind=kind, label=label, start=start, end=end)

    @property
    def last_day(self) -> date:
        return (self.end.astimezone(SHANGHAI) - timedelta(days=1)).date()


class ReportRun(BaseModel):
    """What a schedule starts: without `period` the run reports the last whole period before its own start."""

    kind: ReportKind
    period: str | None = Field(None, max_length=16, description="2026-10 or 2026-Q4; None: the previous period")


class ReportRequest(BaseModel):
    period: ReportPeriod


class ReportFile(BaseModel):
    name: str = Field(description="the file name inside the report's directory")
    media_type: str
    bytes: int = Field(ge=0)


class ReportWritten(BaseModel):
    """What building a report answers: where its files are and its headline figures, never the figures in full."""

    period: ReportPeriod
    directory: str
    files: list[ReportFile]
    cases_opened: int
    cases_closed: int
    on_time_rate: Decimal | None
    typical_cases: int
    stored_at: str | None = Field(
        None, description="the report's folder in object storage (s3://bucket/prefix/kind-period), when configured"
    )


# The assessment (營商環境考核) and the figures of one report.


Points = Annotated[Decimal, Field(ge=-100, le=100, max_digits=6, decimal_places=2)]
LocalityCode = Annotated[str, Field(min_length=1, max_length=64), IDENTIFIER]


class ScoreWeights(RootModel[dict[LocalityCode, dict[ScoreKind, Points]]]):
    """Points per score kind by locality, e.g. {"SQ-SHY": {"card_red": -3}}: a locality's weights price its own
    units' events in assessments; kinds it does not name keep the points the ledger recorded (the default weights,
    services.ledger.DEFAULT_SCORE_WEIGHTS)."""

    root: dict[LocalityCode, dict[ScoreKind, Points]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _bounded(self) -> ScoreWeights:
        if len(self.root) > MAX_WEIGHTED_LOCALITIES:
            raise ValueError(f"weights for at most {MAX_WEIGHTED_LOCALITIES} localities")
        return self

    def points(self, locality: str | None, kind: ScoreKind, recorded: Decimal) -> Decimal:
        return self.root.get(locality or "", {}).get(kind, recorded)


class AssessedUnit(BaseModel):
    """A department's or locality's assessment in a period: its points, events by kind, and its place."""

    code: str
    name: str
    locality: str | None = Field(description="the locality a department belongs to; None: city level")
    points: Decimal = Field(description="at the weights of the unit's locality")
    recorded_points: Decimal = Field(description="as the ledger recorded them, at the default weights")
    events: dict[ScoreKind, int]
    rank: int = Field(ge=1, description="1 is best; equal points share a place")


class TypicalCaseKind(StrEnum):
    BUCK_PASSING = "buck_passing"  # 推諉: an improper return the coordinator upheld
    DELAY = "delay"  # 拖延: past the committed deadline by more than the configured working days


class TypicalCase(BaseModel):
    kind: TypicalCaseKind
    subject_id: str
    department_code: str
    department_name: str = Field(description="from the registry; the code when it does not know it")
    matter_code: str | None
    locality: str | None
    at: AwareDatetime = Field(description="when the return was ruled improper, or the deadline that was missed")
    working_days_late: int | None = Field(None, description="for a delay: working days past the deadline")
    still_open: bool = False


class CountByCode(BaseModel):
    code: str
    name: str
    count: int


class ChannelVolume(BaseModel):
    """An intake channel's cases in the period (docs/intake.md)."""

    code: str
    name: str
    taken_in: int = Field(description="records that became cases in the period")
    unplaced: int = Field(description="of those, records whose mapping failed: placed by hand")
    closed: int = Field(description="the channel's cases closed in the period, whenever taken in")
    on_time: int = Field(description="of those, closed by the committed deadline")


class Hotspot(BaseModel):
    """A matter or locality and what went wrong there in the period."""

    code: str
    name: str
    cases_opened: int
    yellow_cards: int
    red_cards: int
    late_closes: int
    open_overdue: int

    @property
    def weight(self) -> int:
        return 2 * self.red_cards + self.yellow_cards + self.late_closes + self.open_overdue


class OpenLoop(BaseModel):
    handoff_id: str
    matter_code: str
    stage: str
    source_department: str
    target_department: str | None
    created_at: AwareDatetime
    next_due_at: AwareDatetime | None


class ReconciliationExtract(BaseModel):
    """The monthly reconciliation run that closes the period, as the store keeps it."""

    report_id: int
    as_of: AwareDatetime
    open_past_limit: int
    departments: list[CountByCode]


class Volumes(BaseModel):
    cases_opened: int
    cases_closed: int
    cases_open_at_end: int
    handoffs_created: int
    handoffs_closed: int
    handoffs_open_at_end: int


class OnTime(BaseModel):
    closed: int
    on_time: int

    @property
    def late(self) -> int:
        return self.closed - self.on_time

    @property
    def rate(self) -> Decimal | None:
        """Closed on time per closed case, to 0.1 %; None when nothing closed."""
        if not self.closed:
            return None
        return (Decimal(self.on_time) / Decimal(self.closed)).quantize(Decimal("0.001"))


class CardCount(BaseModel):
    code: str
    name: str
    yellow: int
    red: int
    revoked: int


class Escalations(BaseModel):
    reminder_notices: int
    supervision_orders: int
    circulars: int
    admonitory_talks: int
    orders_by_department: list[CountByCode]


class DeliveryMonth(BaseModel):
    """One scheduled delivery's days in the period: expected, and how they ended."""

    delivery_code: str
    deliverer: str
    receiver: str
    expected: int = Field(ge=0, description="days that expected a delivery")
    delivered: int = Field(ge=0, description="delivered by the due time")
    late: int = Field(ge=0, description="delivered after the due time")
    missing: int = Field(ge=0, description="closed with nothing accepted")
    open: int = Field(ge=0, description="still waiting when the report was made")


class ReportFigures(BaseModel):
    """Everything one report says, as read from the store; the files are rendered from this alone."""

    period: ReportPeriod
    generated_at: AwareDatetime
    volumes: Volumes
    on_time: OnTime
    cards: list[CardCount]
    escalations: Escalations
    matter_hotspots: list[Hotspot]
    locality_hotspots: list[Hotspot]
    open_loops: list[OpenLoop]
    open_loops_total: int
    departments: list[AssessedUnit]
    localities: list[AssessedUnit]
    typical_cases: list[TypicalCase]
    delay_threshold_working_days: int
    reconciliation: ReconciliationExtract | None
    channels: list[ChannelVolume] = Field(default_factory=list, description="by intake channel; none without channels")
    scheduled_deliveries: list[DeliveryMonth] = Field(default_factory=list)
