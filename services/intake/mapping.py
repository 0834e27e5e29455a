"""A channel's own record as a case: its record number, category, area and title, and where the registry places it.

Pure functions over the channel's registry entry: no store, no engine. A record that maps to nothing is still
placed, under the channel's unplaced matter and locality, with the reason, for the coordinator to place by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from schemas.intake import ChannelInfo
from schemas.intake_api import BadRating, ChannelRecord, HotlineWorkOrder, PrepaidCardComplaint, WindowRecord

TITLE_CHARS = 500


@dataclass(frozen=True)
class Normalised:
    """What every channel's record comes down to."""

    record_number: str
    category: str
    area_code: str | None
    address: str | None
    title: str
    co_unit: str | None = None  # a department the record names as a party (the rated one)
    deadline: datetime | None = None  # the channel's own deadline (a 12345 work order's): the case is timed by it


@dataclass(frozen=True)
class Placement:
    matter_code: str
    locality_code: str
    reasons: list[str] = field(default_factory=list)

    @property
    def placed(self) -> bool:
        return not self.reasons

    @property
    def reason(self) -> str | None:
        return "; ".join(self.reasons)[:500] if self.reasons else None


class RecordRefused(Exception):
    """The record is not one this channel opens a case for; nothing is taken in."""

    def __init__(self, rule: str, field_name: str, detail: str) -> None:
        super().__init__(detail)
        self.rule = rule
        self.field = field_name
        self.detail = detail


def _title(*parts: str | None) -> str:
    return " · ".join(part for part in parts if part)[:TITLE_CHARS]


def normalise(record: ChannelRecord) -> Normalised:
    if isinstance(record, HotlineWorkOrder):
        return Normalised(
            record_number=record.work_order_number,
            category=record.category,
            area_code=record.area_code,
            address=record.address,
            title=_title(
                f"12345工單 {record.work_order_number}",
                f"熱線時限 {record.hotline_deadline.isoformat()}" if record.hotline_deadline else None,
                record.address,
                record.content,
            ),
            deadline=record.hotline_deadline,
        )
    if isinstance(record, BadRating):
        if not record.level.is_bad:
            raise RecordRefused(
                "intake.rating-not-bad",
                "level",
                f"a {record.level.value} rating opens no case: only dissatisfied and very_dissatisfied do",
            )
        return Normalised(
            record_number=record.rating_id,
            category=record.service_item,
            area_code=record.area_code,
            address=None,
            title=_title(
                f"差評整改 {record.rating_id}", f"{record.service_item} ({record.level.value})", record.comment
            ),
            co_unit=record.department,
        )
    if isinstance(record, WindowRecord):
        return Normalised(
            record_number=record.record_number,
            category=record.hour_class.value,
            area_code=record.hall,
            address=None,
            title=_title(
                f"不好辦 {record.record_number} ({record.hour_class.value} h)",
                record.attempted,
                f"受阻: {record.failed_at}",
                f"登記: {record.recorded_by}",
            ),
        )
    if isinstance(record, PrepaidCardComplaint):
        card = f"卡尾號 {record.card_number[-4:]}" if record.card_number else None
        return Normalised(
            record_number=record.complaint_number,
            category=record.kind.value,
            area_code=record.merchant_area_code,
            address=record.merchant_address,
            title=_title(
                f"預付卡{'一鍵維權' if record.kind.value == 'claim' else '投訴'} {record.complaint_number}",
                record.merchant,
                card,
                f"金額 {record.amount}",
                record.claim,
            ),
        )
    raise TypeError(f"no intake for {type(record).__name__}")


def place(channel: ChannelInfo, record: Normalised) -> Placement:
    """The matter by the category table; the locality by the area table, else by a district named in the address."""
    reasons: list[str] = []
    matter = channel.categories.get(record.category)
    if matter is None:
        reasons.append(f"category {record.category!r} maps to no matter of channel {channel.code}")
    locality = channel.localities.get(record.area_code) if record.area_code is not None else None
    if locality is None and record.address:
        locality = next((code for name, code in channel.address_localities.items() if name in record.address), None)
    if locality is None:
        said = f"area {record.area_code!r}" if record.area_code is not None else "no area code"
        reasons.append(f"{said} and {'the address' if record.address else 'no address'} map to no locality")
    return Placement(
        matter_code=matter or channel.unplaced_matter,
        locality_code=locality or channel.unplaced_locality,
        reasons=reasons,
    )


def case_number(channel_code: str, record_number: str) -> str:
    """The case number of a channel's record: channel and record number, so two channels fed by one department
    never share a case."""
    return f"{channel_code}.{record_number}"
