"""The phone mask: every way a number is written in China, inside any text, masked by one pattern."""

from __future__ import annotations

import pytest

from activities.notify.providers import mask_phones_in

WRITTEN = [
    ("13812345678", "138****5678"),
    ("138-1234-5678", "138-****-5678"),
    ("138 1234 5678", "138 **** 5678"),
    ("+86 138 1234 5678", "+86 138 **** 5678"),
    ("+86-138-1234-5678", "+86-138-****-5678"),
    ("+86 13812345678", "+86 138****5678"),
    ("+8613812345678", "+86*******5678"),
    ("(+86)13812345678", "(+86)138****5678"),
    ("(86) 138 1234 5678", "(86) 138 **** 5678"),
    ("0592-1234567", "0592-*****67"),  # a landline's number part
]
AROUND = [
    ("call {} now", "call {} now"),
    ("聯繫人電話{}，請回電", "聯繫人電話{}，請回電"),
    ('{{"phones":["{}"]}}', '{{"phones":["{}"]}}'),
    ("to={};", "to={};"),
    ("({})", "({})"),
]


@pytest.mark.parametrize(("number", "masked"), WRITTEN)
@pytest.mark.parametrize(("text", "expected"), AROUND)
def test_a_number_is_masked_however_written_and_whatever_surrounds_it(
    number: str, masked: str, text: str, expected: str
) -> None:
    said = mask_phones_in(text.format(number))
    assert said == expected.format(masked)
    assert number.replace(" ", "").replace("-", "")[-8:-4] not in said.replace(" ", "").replace("-", "")


def test_several_numbers_in_one_reply_are_all_masked() -> None:
    reply = "rejected: 138-1234-5678, +86 139 8765 4321 and (+86)13700001111 are not subscribers"
    assert mask_phones_in(reply) == (
        "rejected: 138-****-5678, +86 139 **** 4321 and (+86)137****1111 are not subscribers"
    )


@pytest.mark.parametrize(
    "text",
    [
        "HTTP 503 at 2026-03-02 10:00:00",  # dates and times are not numbers to hide
        "retry after 120 s, request 42",
        "case SQ-FGW-2026-001",
        "138 1234 56789",  # not a mobile number in groups
    ],
)
def test_text_without_a_phone_number_is_left_alone(text: str) -> None:
    assert mask_phones_in(text) == text
