"""The registry tables (兩庫一單: matters, department functions, roster) and the repository that reads them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    case,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from activities.store import stamps
from activities.store.base import Base, SealedText

CODE = String(64)


class Department(Base):
    """A department, locality or zone, and how pushes reach it."""

    __tablename__ = "departments"
    __table_args__ = (CheckConstraint("level IN ('city', 'county', 'district', 'zone')", name="level"),)

    code: Mapped[str] = mapped_column(CODE, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(CODE, ForeignKey("departments.code"), index=True)
    # A county/district government or a zone's committee: the locality of a dual launch.
    is_locality: Mapped[bool] = mapped_column(Boolean, default=False)
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    # The NAME of the webhook secret; the gateway reads the secret from CASELOOP_SECRET_<NAME>.
    secret_ref: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime]
    # When the webhook answered 410 Gone; pushes go to the inbox until an import changes the department again.
    webhook_disabled_at: Mapped[datetime | None]


@dataclass(frozen=True)
class DepartmentEntry:
    """A department as a worker keeps it between registry changes (what a push or a notice needs of it)."""

    code: str
    name: str
    parent_code: str | None
    webhook_url: str | None
    secret_ref: str | None
    active: bool
    updated_at: datetime
    webhook_disabled_at: datetime | None

    @property
    def webhook_disabled(self) -> bool:
        """A 410 Gone disabled the webhook after the registry last changed the department."""
        gone_at = self.webhook_disabled_at
        return gone_at is not None and gone_at >= self.updated_at

    @property
    def inbox_only(self) -> bool:
        """Active, and with no webhook that takes pushes: a push to it goes to its inbox."""
        return self.active and (self.webhook_url is None or self.webhook_disabled)


class DepartmentDirectory:
    """Every department, kept while the registry's stamp in the store stays the same.

    A lookup reads the stamp (one primary-key SELECT, before the departments: a change in between only reloads)
    and loads all departments again when it moved. Every writer of `departments` bumps the stamp in its own
    transaction (the registry import, a webhook disabled after 410 Gone), so a change applies to the next lookup,
    in every process."""

    def __init__(self) -> None:
        self._kept: tuple[int, dict[str, DepartmentEntry]] | None = None

    async def get(self, session: AsyncSession, code: str) -> DepartmentEntry | None:
        return (await self.all(session)).get(code)

    async def all(self, session: AsyncSession) -> dict[str, DepartmentEntry]:
        """Every department by code, as of one reading of the stamp."""
        stamp = await stamps.read(session, stamps.REGISTRY)
        kept = self._kept
        if kept is None or kept[0] != stamp:
            rows = (await session.scalars(select(Department))).all()
            kept = (stamp, {row.code: _entry(row) for row in rows})
            self._kept = kept
        return kept[1]


def _entry(row: Department) -> DepartmentEntry:
    return DepartmentEntry(
        code=row.code,
        name=row.name,
        parent_code=row.parent_code,
        webhook_url=row.webhook_url,
        secret_ref=row.secret_ref,
        active=row.active,
        updated_at=row.updated_at,
        webhook_disabled_at=row.webhook_disabled_at,
    )


class DepartmentFunction(Base):
    """An approval or supervision item a department is responsible for (部門職能庫)."""

    __tablename__ = "department_functions"
    __table_args__ = (CheckConstraint("item_kind IN ('approval', 'supervision')", name="item_kind"),)

    department_code: Mapped[str] = mapped_column(CODE, ForeignKey("departments.code"), primary_key=True)
    item_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    item_code: Mapped[str] = mapped_column(CODE, primary_key=True)
    item_name: Mapped[str] = mapped_column(String(200))


Index("ix_department_functions_item", DepartmentFunction.item_kind, DepartmentFunction.item_code)


class CollaborationMatter(Base):
    """What can be collaborated on (協同事項庫): its kind, trigger, limits and card profile."""

    __tablename__ = "collaboration_matters"

    code: Mapped[str] = mapped_column(CODE, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str | None] = mapped_column(String(32))
    theme: Mapped[str | None] = mapped_column(String(100))
    trigger: Mapped[str] = mapped_column(String(32))
    trigger_item: Mapped[str | None] = mapped_column(CODE)
    target_item: Mapped[str | None] = mapped_column(CODE)
    claim_mode: Mapped[str] = mapped_column(String(16))
    card_profile: Mapped[str] = mapped_column(String(64))
    statutory_limit_amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    statutory_limit_unit: Mapped[str | None] = mapped_column(String(16))
    extension_cap_amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    extension_cap_unit: Mapped[str | None] = mapped_column(String(16))
    max_extensions: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime]

    parties: Mapped[list[MatterParty]] = relationship(
        order_by="MatterParty.position", cascade="all, delete-orphan", lazy="selectin"
    )
    step_limits: Mapped[list[MatterStepLimit]] = relationship(
        order_by="MatterStepLimit.step", cascade="all, delete-orphan", lazy="selectin"
    )
    # The matter's own coordinator and supervisors; the import writes them, so the list is only read here.
    roles: Mapped[list[RegistryRole]] = relationship(order_by="RegistryRole.position", lazy="selectin", viewonly=True)


Index("ix_collaboration_matters_trigger", CollaborationMatter.trigger, CollaborationMatter.trigger_item)


class MatterParty(Base):
    """A department's role in a matter: initiator, lead (cases) or collaborator."""

    __tablename__ = "matter_parties"

    matter_code: Mapped[str] = mapped_column(
        CODE, ForeignKey("collaboration_matters.code", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    department_code: Mapped[str] = mapped_column(CODE, ForeignKey("departments.code"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class MatterStepLimit(Base):
    __tablename__ = "matter_step_limits"

    matter_code: Mapped[str] = mapped_column(
        CODE, ForeignKey("collaboration_matters.code", ondelete="CASCADE"), primary_key=True
    )
    step: Mapped[str] = mapped_column(String(32), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    unit: Mapped[str] = mapped_column(String(16))


class RosterEntry(Base):
    """The liaison or backup of a department for one matter (or every matter); the phone is personal data."""

    __tablename__ = "roster"
    __table_args__ = (CheckConstraint("role IN ('liaison', 'backup')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    department_code: Mapped[str] = mapped_column(CODE, ForeignKey("departments.code"), index=True)
    matter_code: Mapped[str | None] = mapped_column(CODE, ForeignKey("collaboration_matters.code"))
    role: Mapped[str] = mapped_column(String(16))
    person_name: Mapped[str] = mapped_column(SealedText("roster.person_name"))
    phone: Mapped[str] = mapped_column(SealedText("roster.phone"))


# One liaison and one backup per department and matter; NULL (every matter) counts as a matter of its own.
Index(
    "uq_roster_department_matter_role",
    RosterEntry.department_code,
    func.coalesce(RosterEntry.matter_code, ""),
    RosterEntry.role,
    unique=True,
)


class RegistryRole(Base):
    """A coordinator or supervisor of cases, named for one matter, for the cases in one department's area (a
    locality's entry, usually), or registry-wide when neither is set (the `defaults:` section)."""

    __tablename__ = "registry_roles"
    __table_args__ = (
        CheckConstraint("role IN ('coordinator', 'supervisor')", name="role"),
        CheckConstraint("matter_code IS NULL OR area_code IS NULL", name="one_scope"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    matter_code: Mapped[str | None] = mapped_column(
        CODE, ForeignKey("collaboration_matters.code", ondelete="CASCADE"), index=True
    )
    area_code: Mapped[str | None] = mapped_column(CODE, ForeignKey("departments.code"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    department_code: Mapped[str] = mapped_column(CODE, ForeignKey("departments.code"))
    position: Mapped[int] = mapped_column(Integer)

    @property
    def scope(self) -> tuple[str | None, str | None]:
        return (self.matter_code, self.area_code)


# A department holds a role once per scope; NULL (no matter, no area) is a scope of its own, as in the roster.
Index(
    "uq_registry_roles_scope_role_department",
    func.coalesce(RegistryRole.matter_code, ""),
    func.coalesce(RegistryRole.area_code, ""),
    RegistryRole.role,
    RegistryRole.department_code,
    unique=True,
)

_LIAISON_FIRST = case((RosterEntry.role == "liaison", 0), else_=1)


class RegistryRepository:
    """Reads the registry; writes go through activities.registry's import, which validates the whole file."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get_department(self, code: str) -> Department | None:
        return await self._session.get(Department, code)

    async def departments(self) -> Sequence[Department]:
        return (await self._session.scalars(select(Department).order_by(Department.code))).all()

    async def get_matter(self, code: str) -> CollaborationMatter | None:
        return await self._session.get(CollaborationMatter, code)

    async def matters(self) -> Sequence[CollaborationMatter]:
        return (await self._session.scalars(select(CollaborationMatter).order_by(CollaborationMatter.code))).all()

    async def matters_for_trigger(self, trigger: str, item_code: str | None) -> Sequence[CollaborationMatter]:
        """Active matters started by this event; a matter without a trigger item matches any item."""
        item_matches: ColumnElement[bool] = CollaborationMatter.trigger_item.is_(None)
        if item_code is not None:
            item_matches = or_(item_matches, CollaborationMatter.trigger_item == item_code)
        query = (
            select(CollaborationMatter)
            .where(CollaborationMatter.trigger == trigger, CollaborationMatter.active.is_(True), item_matches)
            .order_by(CollaborationMatter.code)
        )
        return (await self._session.scalars(query)).all()

    async def functions_of(self, department_code: str) -> Sequence[DepartmentFunction]:
        query = (
            select(DepartmentFunction)
            .where(DepartmentFunction.department_code == department_code)
            .order_by(DepartmentFunction.item_kind, DepartmentFunction.item_code)
        )
        return (await self._session.scalars(query)).all()

    async def all_functions(self) -> Sequence[DepartmentFunction]:
        return (await self._session.scalars(select(DepartmentFunction))).all()

    async def departments_holding(self, item_kind: str, item_code: str) -> Sequence[Department]:
        query = (
            select(Department)
            .join(DepartmentFunction, DepartmentFunction.department_code == Department.code)
            .where(DepartmentFunction.item_kind == item_kind, DepartmentFunction.item_code == item_code)
            .order_by(Department.code)
        )
        return (await self._session.scalars(query)).all()

    async def locality_of(self, department: Department) -> str | None:
        """The nearest locality among the department and its ancestors; None for city-level departments."""
        seen: set[str] = set()
        current: Department | None = department
        while current is not None and current.code not in seen:
            if current.is_locality:
                return current.code
            seen.add(current.code)
            current = await self.get_department(current.parent_code) if current.parent_code else None
        return None

    async def roster_for(self, department_code: str, matter_code: str | None) -> list[RosterEntry]:
        """Who to contact: people named for this matter first, then those for every matter; liaison before backup."""
        query = select(RosterEntry).where(RosterEntry.department_code == department_code)
        if matter_code is None:
            query = query.where(RosterEntry.matter_code.is_(None))
        else:
            query = query.where((RosterEntry.matter_code == matter_code) | RosterEntry.matter_code.is_(None))
        general_last = case((RosterEntry.matter_code.is_(None), 1), else_=0)
        query = query.order_by(general_last, _LIAISON_FIRST, RosterEntry.id)
        return list((await self._session.scalars(query)).all())

    async def roster_of(self, department_code: str) -> Sequence[RosterEntry]:
        query = (
            select(RosterEntry)
            .where(RosterEntry.department_code == department_code)
            .order_by(RosterEntry.matter_code.is_not(None), RosterEntry.matter_code, _LIAISON_FIRST)
        )
        return (await self._session.scalars(query)).all()

    async def roster_for_matter(self, matter_code: str) -> Sequence[RosterEntry]:
        query = (
            select(RosterEntry)
            .where(RosterEntry.matter_code == matter_code)
            .order_by(RosterEntry.department_code, _LIAISON_FIRST)
        )
        return (await self._session.scalars(query)).all()

    async def all_roster(self) -> Sequence[RosterEntry]:
        return (await self._session.scalars(select(RosterEntry))).all()

    async def all_roles(self) -> Sequence[RegistryRole]:
        return (await self._session.scalars(select(RegistryRole).order_by(RegistryRole.id))).all()

    async def roles_for(self, matter_code: str | None, area_code: str | None) -> Sequence[RegistryRole]:
        """The roles named for exactly this scope; (None, None) is the registry-wide defaults."""
        query = select(RegistryRole).where(
            RegistryRole.matter_code.is_(None) if matter_code is None else RegistryRole.matter_code == matter_code,
            RegistryRole.area_code.is_(None) if area_code is None else RegistryRole.area_code == area_code,
        )
        return (await self._session.scalars(query.order_by(RegistryRole.role, RegistryRole.position))).all()

    async def is_empty(self) -> bool:
        return await self._session.scalar(select(func.count()).select_from(Department)) == 0
