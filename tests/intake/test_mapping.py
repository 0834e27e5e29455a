"""The pure part of intake: a channel's record as a case, and where the channel's tables place it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import BaseModel

from schemas.intake import ChannelInfo, ChannelKind
from schemas.intake_api import (
    BadRating,
    HotlineBatch,
    HourClass,
    PrepaidCardBatch,
    PrepaidCardComplaint,
    PrepaidClaimKind,
    RatingBatch,
    StatusQuery,
    WindowBatch,
    WindowRecord,
)
from schemas.ledger import RatingLevel
from services.intake.mapping import Normalised, RecordRefused, case_number, normalise, place
from tests.test_text_hygiene import _unchecked_fields

CHANNEL = ChannelInfo(
    code="12345",
    name="hotline",
    kind=ChannelKind.HOTLINE,
    department="SQ-12345",
    pushes=True,
    categories={"0301": "M-ROAD"},
    localities={"321302": "SQ-SCQ"},
    address_localities={"宿豫區": "SQ-SYQ", "沭陽": "SQ-SHY"},
    unplaced_matter="M-UNPLACED",
    unplaced_locality="SQ-SCQ",
    active=True,
)


def record(category: str = "0301", area: str | None = "321302", address: str | None = None) -> Normalised:
    return Normalised(record_number="WO-1", category=category, area_code=area, address=address, title="t")


def test_the_tables_place_a_record() -> None:
    placement = place(CHANNEL, record())
    assert (placement.matter_code, placement.locality_code, placement.placed) == ("M-ROAD", "SQ-SCQ", True)
    assert placement.reason is None


def test_the_address_places_it_when_the_area_code_does_not() -> None:
    assert place(CHANNEL, record(area=None, address="沭陽縣某鎮")).locality_code == "SQ-SHY"
    assert place(CHANNEL, record(area="999999", address="宿豫區順河街道")).locality_code == "SQ-SYQ"


def test_what_maps_to_nothing_is_placed_under_the_unplaced_matter_with_every_reason() -> None:
    placement = place(CHANNEL, record(category="0000", area="999999", address="某處"))
    assert (placement.matter_code, placement.locality_code, placement.placed) == ("M-UNPLACED", "SQ-SCQ", False)
    assert placement.reason is not None
    assert "category '0000'" in placement.reason and "area '999999'" in placement.reason
    only_locality = place(CHANNEL, record(area=None))
    assert (only_locality.matter_code, only_locality.placed) == ("M-ROAD", False)


def test_a_good_rating_opens_no_case() -> None:
    rating = BadRating(rating_id="R1", level="satisfied", service_item="SP-1", department="SQ-WJW")
    with pytest.raises(RecordRefused) as refused:
        normalise(rating)
    assert (refused.value.rule, refused.value.field) == ("intake.rating-not-bad", "level")
    bad = normalise(rating.model_copy(update={"level": RatingLevel.DISSATISFIED}))
    assert (bad.category, bad.co_unit) == ("SP-1", "SQ-WJW")


def test_the_window_maps_by_hour_class_and_hall() -> None:
    window = WindowRecord(
        record_number="W1",
        hall="SQ-ZWFW",
        attempted="變更登記",
        failed_at="地址核驗",
        recorded_by="窗口甲",
        hour_class=HourClass.HALF,
    )
    assert (normalise(window).category, normalise(window).area_code) == ("0.5", "SQ-ZWFW")


def test_a_prepaid_card_title_keeps_only_the_cards_last_digits() -> None:
    complaint = PrepaidCardComplaint(
        complaint_number="C1",
        kind=PrepaidClaimKind.CLAIM,
        merchant="某健身房",
        card_number="6222000011112222",
        amount=Decimal("3680.00"),
        claim="退款",
    )
    title = normalise(complaint).title
    assert "2222" in title and "6222000011112222" not in title
    assert case_number("YFK", "C1") == "YFK.C1"


@pytest.mark.parametrize(
    "model", [HotlineBatch, RatingBatch, WindowBatch, PrepaidCardBatch, StatusQuery], ids=lambda m: m.__name__
)
def test_every_string_a_channel_sends_is_checked(model: type[BaseModel]) -> None:
    assert list(_unchecked_fields(model, set())) == []
