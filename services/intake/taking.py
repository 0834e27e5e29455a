"""Taking a channel's record in: find its earlier intake, else place it, launch its case and remember it.

Idempotent by (channel, record number): a record taken in before answers its case and starts nothing. A record
whose category or area maps to nothing still becomes a case, under the channel's unplaced matter and locality,
with the reason, for the coordinator to place by hand. The department comes from the credential (the door checks
it is the channel's own); the registry, not the record, names the coordinator and supervisors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store.intake import IntakeChannel, IntakeRecord, IntakeRepository
from activities.store.registry import RegistryRepository
from caseloop.errors import InputRejected
from schemas.actors import Actor, Role
from schemas.case.state import CaseRegistration, CoUnitNomination
from schemas.intake import CaseChannel, ChannelInfo, ChannelKind
from schemas.intake_api import RECORD_OF_KIND, ChannelRecord, IntakeResult
from schemas.registry import LaunchRoles
from services.intake.codes import new_code
from services.intake.mapping import Placement, RecordRefused, case_number, normalise, place
from services.registry.roles import launch_roles

# How far after its receipt a channel's own deadline may lie: a later one is a typing error, not a deadline.
DEADLINE_REACH = timedelta(days=366)


class Launched(Protocol):
    @property
    def created(self) -> bool: ...


class Launcher(Protocol):
    """The engine's launch, as the door's client offers it."""

    async def start(self, registration: CaseRegistration, *, within: float | None = None) -> Launched: ...


@dataclass(frozen=True)
class Intake:
    """What taking records in needs: the store, the engine and the door's wait."""

    sessions: async_sessionmaker[AsyncSession]
    engine: Launcher
    within: float | None = None


class IntakeRefused(Exception):
    """Nothing was taken in: `status` is the HTTP answer (403 for a credential that does not feed the channel, 404
    for an unknown channel, 422 for a record the rules refuse)."""

    def __init__(self, status: int, rule: str, field_name: str | None, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.rule = rule
        self.field = field_name
        self.detail = detail


def channel_info(row: IntakeChannel) -> ChannelInfo:
    return ChannelInfo(
        code=row.code,
        name=row.name,
        kind=ChannelKind(row.kind),
        department=row.department_code,
        pushes=row.pushes,
        categories=row.categories,
        localities=row.localities,
        address_localities=row.address_localities,
        unplaced_matter=row.unplaced_matter,
        unplaced_locality=row.unplaced_locality,
        active=row.active,
    )


async def channel_for(intake: Intake, kind: ChannelKind, code: str, department: str) -> ChannelInfo:
    """The channel, if it is of this kind, open, and fed by `department`."""
    async with intake.sessions() as session:
        row = await IntakeRepository(session).channel(code)
    if row is None or row.kind != kind.value:
        raise IntakeRefused(404, "intake.channel", "channel", f"no {kind.value} channel {code} in the registry")
    channel = channel_info(row)
    if not channel.active:
        raise IntakeRefused(422, "intake.channel-closed", "channel", f"channel {code} is closed in the registry")
    if channel.department != department:
        raise IntakeRefused(
            403,
            "intake.channel-credential",
            "channel",
            f"channel {code} is fed by {channel.department}'s credential, not {department}'s",
        )
    return channel


def _answer(channel: ChannelInfo, row: IntakeRecord, created: bool) -> IntakeResult:
    return IntakeResult(
        channel=channel.code,
        record_number=row.record_number,
        case_id=row.case_id,
        created=created,
        placed=row.placed,
        unplaced_reason=row.unplaced_reason,
        matter_code=row.matter_code,
        locality_code=row.locality_code,
        verification_code=row.verification_code,
    )


async def _placement(
    session: AsyncSession, channel: ChannelInfo, placement: Placement
) -> tuple[Placement, LaunchRoles]:
    """The placement and who coordinates and supervises it; a mapped matter or locality the registry refuses
    (retired since) falls back to the unplaced ones, with the reason."""
    try:
        return placement, await launch_roles(session, placement.matter_code, placement.locality_code)
    except InputRejected as rejected:
        fallback = Placement(
            matter_code=channel.unplaced_matter,
            locality_code=channel.unplaced_locality,
            reasons=[*placement.reasons, str(rejected)],
        )
    return fallback, await launch_roles(session, fallback.matter_code, fallback.locality_code)


def _check_deadline(deadline: datetime | None, received: datetime | None, now: datetime) -> None:
    """A channel's deadline lies after the record's receipt and within DEADLINE_REACH of it (or of now). One already
    passed when the record arrives (a late export) is kept: the case is told at once that it missed it."""
    if deadline is None:
        return
    if received is not None and deadline <= received:
        raise IntakeRefused(
            422,
            "intake.deadline-before-receipt",
            "hotline_deadline",
            f"hotline_deadline {deadline.isoformat()} is not after the record's receipt {received.isoformat()}",
        )
    if deadline > (received or now) + DEADLINE_REACH:
        raise IntakeRefused(
            422,
            "intake.deadline-too-far",
            "hotline_deadline",
            f"hotline_deadline {deadline.isoformat()} is more than {DEADLINE_REACH.days} days after the receipt",
        )


async def take_in(
    intake: Intake, channel: ChannelInfo, record: ChannelRecord, *, credential: str, on_behalf_reason: str | None
) -> IntakeResult:
    """The record's case: found (created False) or launched now (created True)."""
    if not isinstance(record, RECORD_OF_KIND[channel.kind]):
        raise IntakeRefused(422, "intake.record-kind", None, f"channel {channel.code} takes {channel.kind.value}s")
    try:
        normalised = normalise(record)
    except RecordRefused as refused:
        raise IntakeRefused(422, refused.rule, refused.field, refused.detail) from None
    _check_deadline(normalised.deadline, record.received_at, datetime.now(UTC))
    async with intake.sessions() as session:
        repository = IntakeRepository(session)
        earlier = await repository.record(channel.code, normalised.record_number)
        if earlier is not None:
            return _answer(channel, earlier, False)
        placement = place(channel, normalised)
        co_units: list[CoUnitNomination] = []
        if normalised.co_unit is not None:
            named = await RegistryRepository(session).get_department(normalised.co_unit)
            if named is None or not named.active:
                placement = Placement(
                    placement.matter_code,
                    placement.locality_code,
                    [*placement.reasons, f"department {normalised.co_unit} is not an active department"],
                )
            else:
                co_units.append(CoUnitNomination(department=normalised.co_unit))
        try:
            placement, roles = await _placement(session, channel, placement)
        except InputRejected as rejected:
            raise IntakeRefused(
                422, "intake.unplaced-target", "channel", f"the channel's unplaced matter or locality: {rejected}"
            ) from None
    try:
        registration = CaseRegistration(
            system=channel.department,
            case_number=case_number(channel.code, normalised.record_number),
            matter_code=placement.matter_code,
            locality_code=placement.locality_code,
            title=normalised.title,
            coordinator=roles.coordinator,
            supervisors=roles.supervisors,
            co_units=co_units,
            received_at=record.received_at,
            launched_by=Actor(
                department=channel.department,
                role=Role.INITIATOR,
                credential=credential,
                on_behalf_reason=on_behalf_reason,
            ),
            channel=CaseChannel(
                code=channel.code,
                reference=normalised.record_number,
                pushes=channel.pushes,
                requester=record.requester is not None,
                placed=placement.placed,
                unplaced_reason=placement.reason,
                deadline=normalised.deadline,
            ),
        )
    except ValidationError as error:
        first = error.errors()[0]
        field_name = ".".join(str(part) for part in first["loc"]) or None
        raise IntakeRefused(422, str(first["type"]), field_name, f"{field_name}: {first['msg']}") from None
    try:
        launched = await intake.engine.start(registration, within=intake.within)
    except InputRejected as rejected:
        raise IntakeRefused(422, rejected.rule or "intake.launch", rejected.field, str(rejected)) from None
    created = launched.created
    now = datetime.now(UTC)
    requester = record.requester
    row_values = {
        "channel_code": channel.code,
        "record_number": normalised.record_number,
        "case_id": registration.case_id,
        "matter_code": placement.matter_code,
        "locality_code": placement.locality_code,
        "placed": placement.placed,
        "unplaced_reason": placement.reason,
        "contact_kind": None if requester is None else ("mobile" if requester.mobile else "user_id"),
        "contact": None if requester is None else (requester.mobile or requester.user_id),
        "consent_at": None if requester is None else (requester.consent_at or record.received_at or now),
        "verification_code": new_code(),
        "received_at": record.received_at or now,
        "created_at": now,
    }
    try:
        async with intake.sessions.begin() as session:
            row = IntakeRepository(session).add_record(**row_values)
    except IntegrityError:
        # Taken in at the same moment by a retry: the first row stands, and this answers it.
        async with intake.sessions() as session:
            found = await IntakeRepository(session).record(channel.code, normalised.record_number)
        if found is None:
            raise
        return _answer(channel, found, False)
    return _answer(channel, row, created)
