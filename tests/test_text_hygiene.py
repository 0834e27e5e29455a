"""Text hygiene: every free text, code, reference and case number is checked by one set of types, so a NUL, a
stray control or a bidi override is refused by a named rule at the door and by the SDK, and never reaches the store.
"""

from __future__ import annotations

import types
import typing
import unicodedata
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, JsonValue, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment

from activities.ledger import LedgerActivities
from activities.store.ledger.audit import AuditRecord
from activities.store.ledger.cases import CaseRecord
from caseloop.errors import InputRejected
from caseloop.sdk import CaseClient
from caseloop.sdk.transport import Transport
from schemas import api, text
from schemas.access import Caller, CredentialKind
from schemas.case import commands as c
from schemas.case.state import CaseRegistration
from schemas.handoff import HANDOFF_COMMANDS, EventBatch, Reference, SourceEvent, SourceWithdrawal
from schemas.ledger import AuditEntry, CaseSnapshot, CaseTransition, SubjectKind
from tests.door import conftest as door
from tests.door.conftest import COORDINATOR, INITIATOR, LOCALITY, DoorWorld
from tests.door.test_cases import launched, problem
from tests.door.test_handoffs import licence_granted
from tests.support.department_world import APPROVAL_BUREAU

door_world = door.door_world  # the front door's world, for the refusals over HTTP

RULES: set[str | None] = {text.CONTROL_CHARACTER, text.BIDI_CONTROL, text.FORMAT_CHARACTER, text.SURROGATE}
# What hostile input is made of: C0 and C1 controls, DEL, bidi controls, zero-width and other format characters,
# line separators, lone surrogates, full-width forms NFKC folds, and combining marks NFC composes.
HOSTILE = st.sampled_from(
    [chr(n) for n in range(0x20)]
    + [chr(n) for n in range(0x7F, 0xA0)]
    + sorted(text.BIDI_CONTROLS)
    + ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u2028", "\u2029", "\ud800", "\udfff"]
    + ["Ａ", "－", "，", "（", "e\u0301", "\u3000"]
)
TEXTS = st.lists(st.one_of(HOSTILE, st.characters(), st.sampled_from("SQ-FGW 管線施工")), max_size=40).map("".join)
HYPOTHESIS = settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])

FreeText = TypeAdapter(Annotated[str, Field(max_length=4000), text.FREE_TEXT])
Code = TypeAdapter(text.Code)
ReferenceType = TypeAdapter(Reference)
Package: TypeAdapter[dict[str, Any]] = TypeAdapter(text.Package)


def _refused_by_a_rule(adapter: TypeAdapter[Any], value: Any) -> str | None:
    """The rule that refused `value`, or None when it passed."""
    try:
        adapter.validate_python(value)
    except ValidationError as error:
        return str(error.errors()[0]["type"])
    return None


# The types.


@HYPOTHESIS
@given(TEXTS)
def test_free_text_is_refused_by_a_named_rule_or_passes_in_its_canonical_form(value: str) -> None:
    try:
        kept = FreeText.validate_python(value)
    except ValidationError as error:
        assert error.errors()[0]["type"] in RULES
        assert "\x00" in value or any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value.replace("\r\n", ""))
        return
    assert "\x00" not in kept
    assert kept == unicodedata.normalize("NFC", kept)
    assert all(ch in "\t\n" or unicodedata.category(ch) not in ("Cc", "Cs") for ch in kept)


@HYPOTHESIS
@given(TEXTS)
def test_codes_and_references_are_refused_by_a_named_rule_or_pass_folded(value: str) -> None:
    for adapter in (Code, ReferenceType):
        try:
            kept = adapter.validate_python(value)
        except ValidationError as error:
            assert error.errors()[0]["type"] in RULES | {
                "string_pattern_mismatch",
                "string_too_short",
                "string_too_long",
            }
            continue
        assert kept == unicodedata.normalize("NFKC", kept)
        assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") for ch in kept)


@given(TEXTS.map(lambda value: value[:10] + "\x00" + value[10:]))
def test_nothing_with_a_nul_passes(value: str) -> None:
    for adapter in (FreeText, Code, ReferenceType, TypeAdapter(text.CommandId), TypeAdapter(text.Credential)):
        assert _refused_by_a_rule(adapter, value) is not None
    assert _refused_by_a_rule(Package, {"holder": {"names": [value]}}) in RULES
    assert _refused_by_a_rule(Package, {value: 1}) in RULES


def test_each_character_is_refused_by_its_own_rule() -> None:
    assert _refused_by_a_rule(FreeText, "管線\x00施工") == text.CONTROL_CHARACTER
    assert _refused_by_a_rule(FreeText, "x\x85") == text.CONTROL_CHARACTER  # C1: NEXT LINE
    assert _refused_by_a_rule(FreeText, "x\x7f") == text.CONTROL_CHARACTER
    assert _refused_by_a_rule(FreeText, "x\ud800") == text.SURROGATE
    assert _refused_by_a_rule(Code, "SQ\u202eWGF") == text.BIDI_CONTROL
    assert _refused_by_a_rule(Code, "SQ\u200b-FGW") == text.FORMAT_CHARACTER
    assert _refused_by_a_rule(ReferenceType, "蘇審\u2066〔2026〕") == text.BIDI_CONTROL
    assert _refused_by_a_rule(ReferenceType, "\ufeffR-1") == text.FORMAT_CHARACTER
    assert _refused_by_a_rule(ReferenceType, "R-1\tR-2") == text.CONTROL_CHARACTER
    with pytest.raises(ValidationError) as refused:
        FreeText.validate_python("a\x00b")
    assert "U+0000 at position 1" in str(refused.value)


def test_free_text_keeps_tabs_newlines_and_full_width_punctuation() -> None:
    assert FreeText.validate_python("一、管線\t施工；\r\n二、（協調）") == "一、管線\t施工；\n二、（協調）"
    assert FreeText.validate_python("Cafe\u0301") == "Café"
    assert FreeText.validate_python("\u202bمرحبا\u202c") == "\u202bمرحبا\u202c"  # prose may be written right to left


def test_codes_fold_to_their_ascii_form() -> None:
    assert Code.validate_python("ＳＱ－ＦＧＷ") == "SQ-FGW"
    assert ReferenceType.validate_python("  蘇審〔２０２６〕１２號 ") == "蘇審〔2026〕12號"


def test_a_pattern_must_match_the_whole_value() -> None:
    for value in ("SQ-FGW\n", "SQ-FGW\r\n", "\nSQ-FGW", "SQ FGW", "SQ~FGW"):
        assert _refused_by_a_rule(Code, value) in {"string_pattern_mismatch", text.CONTROL_CHARACTER}, value
    assert _refused_by_a_rule(TypeAdapter(text.CommandId), "cmd-1\n") is not None
    # The pattern check alone, apart from the character rules: `re.match` with `$` would let this through.
    whole = TypeAdapter(Annotated[str, text.full_match(text.CODE_PATTERN)])
    assert _refused_by_a_rule(whole, "SQ-FGW\n") == "string_pattern_mismatch"
    assert whole.validate_python("SQ-FGW") == "SQ-FGW"


def test_a_package_is_free_text_all_the_way_down() -> None:
    assert Package.validate_python({"名稱": ["Cafe\u0301", {"no": 1}]}) == {"名稱": ["Café", {"no": 1}]}
    assert _refused_by_a_rule(Package, {"a": [{"b": "x\x00"}]}) == text.CONTROL_CHARACTER
    assert _refused_by_a_rule(Package, {"a\x1b": "x"}) == text.CONTROL_CHARACTER


# Every schema uses them: no field of what comes in from outside takes a string unchecked.

INCOMING: list[type[BaseModel]] = [
    CaseRegistration,
    SourceEvent,
    EventBatch,
    SourceWithdrawal,
    api.LaunchRequest,
    api.EventRequest,
    api.BatchRequest,
    api.WithdrawalRequest,
    api.AcknowledgeRequest,
    api.DeadlineRequest,
    *c.CASE_COMMANDS.values(),
    *HANDOFF_COMMANDS.values(),
    *api.CASE_COMMAND_BODIES.values(),
    *api.HANDOFF_COMMAND_BODIES.values(),
]


def _checks_text(metadata: typing.Iterable[Any]) -> bool:
    return any(
        (isinstance(item, BeforeValidator) and item.func in (text.free_text, text.identifier))
        or (isinstance(item, AfterValidator) and item.func is text.json_text)
        for item in metadata
    )


def _unchecked_strings(annotation: Any, where: str, checked: bool, seen: set[type]) -> Iterator[str]:
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin is Annotated:
        yield from _unchecked_strings(arguments[0], where, checked or _checks_text(arguments[1:]), seen)
    elif annotation is str or annotation is JsonValue:
        if not checked:
            yield where
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield from _unchecked_fields(annotation, seen)
    elif origin in (typing.Union, types.UnionType, list, dict, tuple, set, frozenset):
        for argument in arguments:
            yield from _unchecked_strings(argument, where, checked, seen)


def _unchecked_fields(model: type[BaseModel], seen: set[type]) -> Iterator[str]:
    if model in seen:
        return
    seen.add(model)
    for name, field in model.model_fields.items():
        yield from _unchecked_strings(field.annotation, f"{model.__name__}.{name}", _checks_text(field.metadata), seen)


@pytest.mark.parametrize("model", INCOMING, ids=lambda model: model.__name__)
def test_every_string_that_comes_in_is_checked(model: type[BaseModel]) -> None:
    assert list(_unchecked_fields(model, set())) == []


# The store: text a case took before these rules is scrubbed, never refused, and never reaches it with a NUL.


async def test_a_nul_never_reaches_the_store(sessions: async_sessionmaker[AsyncSession]) -> None:
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    entry = AuditEntry.model_validate(
        {
            "subject_id": "case-SQ-FGW~1",
            "subject_kind": SubjectKind.CASE,
            "seq": 1,
            "actor": "COORDINATOR",
            "actor_id": "SQ-YSB",
            "action": "commented",
            "reason": "已協調\x00\x1b[2J",
            "on_behalf_reason": "their system\x00",
            "at": at,
        }
    )
    snapshot = CaseSnapshot.model_validate(
        {"case_id": "case-SQ-FGW~1", "matter_code": "M", "title": "積水\x00", "stage": "registered", "opened_at": at}
    )
    ledger = LedgerActivities(sessions)
    await ActivityEnvironment().run(ledger.record_case_transition, CaseTransition(entry=entry, case=snapshot))
    async with sessions() as session:
        row = (await session.scalars(select(AuditRecord))).one()
        record = (await session.scalars(select(CaseRecord))).one()
    assert (row.reason, row.on_behalf_reason) == ("已協調\ufffd\ufffd[2J", "their system\ufffd")
    assert record.title == "積水\ufffd"


# The SDK refuses before sending; the door refuses what any other client sends, naming the field and the rule.


async def test_the_sdk_refuses_a_nul_before_it_travels() -> None:
    # Nothing listens at this address: a request that travelled would fail as unreachable, not as rejected.
    transport = Transport("http://127.0.0.1:9", "clk_unused", within=5)
    caller = Caller(department=INITIATOR, kind=CredentialKind.DEPARTMENT, credential_id="key:x", expires_at=None)
    async with CaseClient(transport, caller) as client:
        with pytest.raises(InputRejected) as refused:
            await client.launch(case_number="2026-1", matter_code="M", locality_code=LOCALITY, title="積水\x00")
        assert (refused.value.rule, refused.value.field) == (text.CONTROL_CHARACTER, "title")
        with pytest.raises(InputRejected) as refused:
            await client.launch(case_number="2026\u202e1", matter_code="M", locality_code=LOCALITY, title="積水")
        assert (refused.value.rule, refused.value.field) == (text.BIDI_CONTROL, "case_number")
        with pytest.raises(InputRejected) as refused:
            await client.case("2026-1").comment(actor="initiator", text="a\x00")
        assert (refused.value.rule, refused.value.field) == (text.CONTROL_CHARACTER, "text")


async def test_the_door_refuses_a_nul_in_a_launch_naming_the_field(door_world: DoorWorld) -> None:
    number = f"N-{uuid.uuid4().hex[:10]}"
    body: dict[str, Any] = {
        "case_number": number,
        "matter_code": door_world.matter,
        "locality_code": LOCALITY,
        "title": "積水\x00",
    }
    refused = problem(await door_world.client(INITIATOR).post("/v1/cases", json=body), 422)
    assert (refused["field"], refused["rule"]) == ("title", text.CONTROL_CHARACTER)
    assert refused["errors"][0]["pointer"] == "#/title"
    body.update(title="積水", case_number=f"{number}\u200b")
    refused = problem(await door_world.client(INITIATOR).post("/v1/cases", json=body), 422)
    assert (refused["field"], refused["rule"]) == ("case_number", text.FORMAT_CHARACTER)
    body.update(case_number=number, co_units=[{"department": "SQ-\u202eWJW"}])
    refused = problem(await door_world.client(INITIATOR).post("/v1/cases", json=body), 422)
    assert (refused["field"], refused["rule"]) == ("co_units.0.department", text.BIDI_CONTROL)


async def test_the_door_refuses_a_nul_in_a_command_and_changes_nothing(door_world: DoorWorld) -> None:
    case_id = await launched(door_world)
    before = (await door_world.client(COORDINATOR).get(f"/v1/cases/{case_id}")).json()
    comment = {"role": "coordinator", "text": "已協調\x00"}
    refused = problem(await door_world.client(COORDINATOR).post(f"/v1/cases/{case_id}/comment", json=comment), 422)
    assert (refused["field"], refused["rule"]) == ("text", text.CONTROL_CHARACTER)
    reason = {"role": "coordinator", "reason": "重複\x07"}
    refused = problem(await door_world.client(COORDINATOR).post(f"/v1/cases/{case_id}/terminate", json=reason), 422)
    assert (refused["field"], refused["rule"]) == ("reason", text.CONTROL_CHARACTER)
    after = (await door_world.client(COORDINATOR).get(f"/v1/cases/{case_id}")).json()
    assert (after["seq"], after["stage"]) == (before["seq"], before["stage"])
    kept = await door_world.client(COORDINATOR).post(
        f"/v1/cases/{case_id}/comment", json={"role": "coordinator", "text": "已協調\r\n（見附件）"}
    )
    assert kept.status_code == 200, kept.text


async def test_the_door_refuses_a_nul_in_an_event_package(door_world: DoorWorld) -> None:
    event = licence_granted(f"R-{uuid.uuid4().hex[:8]}")
    event["package"] = {"licence_no": "SW-2026-0001", "holder": {"name": "某某\x00"}}
    refused = problem(await door_world.client(APPROVAL_BUREAU).post("/v1/events", json=event), 422)
    assert (refused["field"], refused["rule"]) == ("package", text.CONTROL_CHARACTER)
    event = licence_granted(f"R-{uuid.uuid4().hex[:8]}\u2067")
    refused = problem(await door_world.client(APPROVAL_BUREAU).post("/v1/events", json=event), 422)
    assert (refused["field"], refused["rule"]) == ("reference", text.BIDI_CONTROL)
