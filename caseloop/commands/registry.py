"""`caseloop registry import FILE...` and `caseloop registry show`: load and inspect the registry (兩庫一單)."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from caseloop.commands.bounds import check_csv, read_text
from caseloop.errors import InputRejected, NotFound
from schemas.intake import ChannelInfo
from schemas.registry import CaseRole, DepartmentInfo, ImportSummary, MatterInfo, SectionSummary

if TYPE_CHECKING:  # the store and the importer are imported by the verb that runs, not while the CLI starts
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from activities.store.registry import RegistryRepository, RosterEntry

T = TypeVar("T")
MOST_CODE_CHARS = 64  # the registry's code columns


def register(subparsers: argparse._SubParsersAction) -> None:
    registry = subparsers.add_parser(
        "registry",
        help="the registry: collaboration matters, department functions, roster",
        description="The registry (兩庫一單) says what can be collaborated on, who is responsible, who the people are.",
    )
    verbs = registry.add_subparsers(dest="verb", metavar="VERB", required=True)
    load = verbs.add_parser(
        "import",
        help="load registry files (YAML, or CSV tables); all or nothing, repeatable",
        description="Validates the files together; any problem rejects them all and lists every problem. "
        "Importing the same files again changes nothing. The format: docs/registry.md.",
    )
    load.add_argument("files", metavar="FILE", nargs="+", type=Path, help="a .yaml/.yml file or a .csv table")
    load.add_argument("--json", action="store_true", help="print JSON for scripts")
    load.set_defaults(handler=_import)

    show = verbs.add_parser(
        "show", help="print the registry, a department or a matter (with who coordinates and supervises)"
    )
    show.add_argument("--department", metavar="CODE", help="a department: its functions, roster and matters")
    show.add_argument("--matter", metavar="CODE", help="a matter: kind, trigger, limits, parties")
    show.add_argument("--contacts", action="store_true", help="show phone numbers in full (personal data)")
    show.add_argument("--json", action="store_true", help="print JSON for scripts")
    show.set_defaults(handler=_show)

    enable = verbs.add_parser(
        "enable-webhook",
        help="let a department's webhook take pushes again after it answered 410 Gone",
        description="A webhook that answered 410 Gone is disabled and its pushes wait in the inbox. Once the "
        "department's system is back at the same URL, this lets later pushes go to it again; pushes already in the "
        "inbox stay there. A new URL in the registry files does the same at import.",
    )
    enable.add_argument("department", metavar="CODE", help="the department's code in the registry")
    enable.set_defaults(handler=_enable_webhook)


async def _with_store(call: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
    from caseloop.store import open_store

    async with open_store() as sessions:
        return await call(sessions)


def _check_files(paths: list[Path]) -> None:
    """Refuses, before the store is opened, a file too big to read or a CSV table the importer cannot parse; the
    importer itself lists every other problem of every file."""
    for path in paths:
        try:
            text = read_text(path, "FILE")
        except OSError:
            continue  # the importer reports it with every other problem
        except InputRejected as error:
            if error.rule != "file.encoding":
                raise
            continue  # the importer reports a file that is not UTF-8 too
        if path.suffix.lower() == ".csv":
            check_csv(text, path, "FILE")


async def _import(args: argparse.Namespace) -> int:
    from services.registry.importer import RegistryRejected, import_registry

    _check_files(args.files)
    try:
        summary = await _with_store(lambda sessions: import_registry(sessions, args.files))
    except RegistryRejected as error:
        raise InputRejected(str(error), rule="registry_file") from error
    print(summary.model_dump_json(indent=2) if args.json else _summary_text(summary))
    return 0


async def _enable_webhook(args: argparse.Namespace) -> int:
    from activities.gateway.delivery import enable_webhook

    code = args.department
    if len(code) > MOST_CODE_CHARS:
        raise InputRejected(
            f"CODE: a department code has {MOST_CODE_CHARS} characters at most", rule="code.length", field="CODE"
        )
    was_disabled = await _with_store(lambda sessions: enable_webhook(sessions, code))
    if was_disabled is None:
        raise NotFound(f"department {code} does not exist in the registry or has no webhook_url")
    print(f"{code}: webhook enabled" if was_disabled else f"{code}: webhook was not disabled; nothing changed")
    return 0


def _section(name: str, section: SectionSummary, unit: str = "") -> str:
    total = section.created + section.updated + section.unchanged
    return f"  {name}: {total}{unit} ({section.created} new, {section.updated} changed, {section.unchanged} unchanged)"


def _summary_text(summary: ImportSummary) -> str:
    head = f"imported {', '.join(summary.files)}" + ("" if summary.changed else ": nothing changed")
    lines = [
        head,
        _section("departments", summary.departments),
        _section("matters", summary.matters),
        _section("function lists", summary.functions, " departments"),
        _section("rosters", summary.roster, " departments"),
        _section("defaults", summary.defaults),
        _section("channels", summary.channels),
    ]
    # The sections of departments working for each other, when the files hold them (docs/joint-work.md).
    for name, section in (
        ("shared data items", summary.shared_items),
        ("scheduled deliveries", summary.deliveries),
        ("joint matters", summary.joint_matters),
    ):
        if section.created + section.updated + section.unchanged:
            lines.append(_section(name, section))
    return "\n".join(lines)


class RosterPerson(BaseModel):
    department_code: str
    matter_code: str | None
    role: str
    name: str
    phone: str


class NamedRoles(BaseModel):
    """The coordinator and supervisors one scope names: the registry's defaults, or a department's entry."""

    coordinator: str | None = None
    supervisors: list[str] = []

    def __str__(self) -> str:
        return f"coordinator {self.coordinator or '-'}; supervisors {', '.join(self.supervisors) or '-'}"


class FunctionItem(BaseModel):
    kind: str
    code: str
    name: str


class DepartmentDetail(BaseModel):
    department: DepartmentInfo
    functions: list[FunctionItem]
    roster: list[RosterPerson]
    matters: dict[str, list[str]]  # role → matter codes
    names: NamedRoles  # for the cases in its area, unless their matter names its own


class MatterDetail(BaseModel):
    matter: MatterInfo
    roster: list[RosterPerson]


class RegistryOverview(BaseModel):
    departments: list[DepartmentInfo]
    matters: list[MatterInfo]
    defaults: NamedRoles
    channels: list[ChannelInfo] = []


class RegistryShow(BaseModel):
    overview: RegistryOverview | None = None
    department: DepartmentDetail | None = None
    matter: MatterDetail | None = None
    contacts: list[RosterPerson] | None = None  # with both --department and --matter: whom SMS goes to, in order


def _mask(phone: str) -> str:
    return phone if len(phone) < 8 else f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


async def _named(repository: RegistryRepository, area_code: str | None) -> NamedRoles:
    roles = await repository.roles_for(None, area_code)
    coordinators = [r.department_code for r in roles if r.role == CaseRole.COORDINATOR.value]
    return NamedRoles(
        coordinator=coordinators[0] if coordinators else None,
        supervisors=[r.department_code for r in roles if r.role == CaseRole.SUPERVISOR.value],
    )


def _people(entries: list[RosterEntry], reveal: bool) -> list[RosterPerson]:
    return [
        RosterPerson(
            department_code=e.department_code,
            matter_code=e.matter_code,
            role=e.role,
            name=e.person_name,
            phone=e.phone if reveal else _mask(e.phone),
        )
        for e in entries
    ]


async def _gather(sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace) -> RegistryShow:
    from activities.store.intake import IntakeRepository
    from activities.store.registry import RegistryRepository
    from services.intake.taking import channel_info
    from services.registry.lookups import department_info, matter_info

    async with sessions() as session:
        repository = RegistryRepository(session)
        shown = RegistryShow()
        if args.department is None and args.matter is None:
            shown.overview = RegistryOverview(
                departments=[await department_info(repository, d) for d in await repository.departments()],
                matters=[matter_info(m) for m in await repository.matters()],
                defaults=await _named(repository, None),
                channels=[channel_info(c) for c in await IntakeRepository(session).channels()],
            )
            return shown
        if args.department is not None:
            department = await repository.get_department(args.department)
            if department is None:
                raise NotFound(f"department {args.department} does not exist in the registry")
            matters: dict[str, list[str]] = {}
            for matter in await repository.matters():
                for party in matter.parties:
                    if party.department_code == department.code:
                        matters.setdefault(party.role, []).append(matter.code)
            shown.department = DepartmentDetail(
                department=await department_info(repository, department),
                functions=[
                    FunctionItem(kind=f.item_kind, code=f.item_code, name=f.item_name)
                    for f in await repository.functions_of(department.code)
                ],
                roster=_people(list(await repository.roster_of(department.code)), args.contacts),
                matters=matters,
                names=await _named(repository, department.code),
            )
        if args.matter is not None:
            asked = await repository.get_matter(args.matter)
            if asked is None:
                raise NotFound(f"matter {args.matter} does not exist in the registry")
            shown.matter = MatterDetail(
                matter=matter_info(asked),
                roster=_people(list(await repository.roster_for_matter(asked.code)), args.contacts),
            )
        if args.department is not None and args.matter is not None:
            shown.contacts = _people(await repository.roster_for(args.department, args.matter), args.contacts)
        return shown


async def _show(args: argparse.Namespace) -> int:
    shown = await _with_store(lambda sessions: _gather(sessions, args))
    if args.json:
        print(shown.model_dump_json(indent=2, exclude_none=True))
        return 0
    blocks = []
    if shown.overview is not None:
        blocks.append(_overview_text(shown.overview))
    if shown.department is not None:
        blocks.append(_department_text(shown.department))
    if shown.matter is not None:
        blocks.append(_matter_text(shown.matter))
    if shown.contacts is not None:
        lines = [f"contacts of {args.department} for {args.matter} (SMS order):"]
        lines += [f"  {_person_line(p)}" for p in shown.contacts] or ["  nobody"]
        blocks.append("\n".join(lines))
    print("\n\n".join(blocks))
    return 0


def _overview_text(overview: RegistryOverview) -> str:
    if not overview.departments and not overview.matters:
        return "the registry is empty: load one with `caseloop registry import FILE`"
    children: dict[str | None, list[DepartmentInfo]] = {}
    for department in overview.departments:
        children.setdefault(department.parent_code, []).append(department)
    known = {d.code for d in overview.departments}
    lines = [f"departments ({len(overview.departments)}):"]

    def tree(parent: str | None, depth: int) -> None:
        for department in children.get(parent, []):
            flags = [department.level.value, department.delivery.value]
            if department.is_locality:
                flags.append("locality")
            if not department.active:
                flags.append("inactive")
            lines.append(f"  {'  ' * depth}{department.code}  {department.name}  [{', '.join(flags)}]")
            tree(department.code, depth + 1)

    tree(None, 0)
    for parent in sorted(p for p in children if p is not None and p not in known):
        tree(parent, 0)
    lines.append(f"defaults: {overview.defaults}")
    lines.append(f"matters ({len(overview.matters)}):")
    for matter in overview.matters:
        parties = f"lead {matter.lead}" if matter.lead else f"from {', '.join(matter.initiators) or '-'}"
        retired = "" if matter.active else "  [retired]"
        lines.append(f"  {matter.code}  {matter.kind.value}  {matter.name}  ({parties}){retired}")
    if overview.channels:
        lines.append(f"channels ({len(overview.channels)}):")
    for channel in overview.channels:
        flags = [channel.kind.value, "pushes" if channel.pushes else "no pushes"] + (
            [] if channel.active else ["closed"]
        )
        lines.append(
            f"  {channel.code}  {channel.name}  fed by {channel.department}  [{', '.join(flags)}]  "
            f"{len(channel.categories)} categories, unplaced → {channel.unplaced_matter} in {channel.unplaced_locality}"
        )
    return "\n".join(lines)


def _person_line(person: RosterPerson) -> str:
    scope = person.matter_code or "every matter"
    return f"{person.department_code}  {person.role:<8} {person.name}  {person.phone}  ({scope})"


def _department_text(detail: DepartmentDetail) -> str:
    d = detail.department
    lines = [
        f"{d.code}  {d.name}",
        f"  level {d.level.value}, parent {d.parent_code or '-'}, locality {d.locality_code or '- (city)'}, "
        f"delivery {d.delivery.value}, {'active' if d.active else 'inactive'}",
        "  functions:",
    ]
    lines += [f"    {f.kind:<12} {f.code}  {f.name}" for f in detail.functions] or ["    none"]
    lines.append("  roster:")
    lines += [f"    {_person_line(p)}" for p in detail.roster] or ["    nobody"]
    lines.append("  matters:")
    lines += [f"    {role}: {', '.join(codes)}" for role, codes in sorted(detail.matters.items())] or ["    none"]
    if detail.names.coordinator or detail.names.supervisors:
        lines.append(f"  for the cases in its area: {detail.names}")
    return "\n".join(lines)


def _matter_text(detail: MatterDetail) -> str:
    m = detail.matter
    trigger = m.trigger.value + (f" of item {m.trigger_item}" if m.trigger_item else "")
    lines = [
        f"{m.code}  {m.name}" + ("" if m.active else "  [retired]"),
        f"  kind {m.kind.value}" + (f", direction {m.direction.value}" if m.direction else "") + f", trigger {trigger}",
        f"  claim {m.claim_mode.value}, card profile {m.card_profile}, max extensions {m.max_extensions}",
        f"  statutory limit {m.statutory_limit or '-'}, extension cap {m.extension_cap or '-'}",
        f"  initiators {', '.join(m.initiators) or '-'}; lead {m.lead or '-'}; "
        f"collaborators {', '.join(m.collaborators) or '-'}"
        + (f"; routed by item {m.target_item}" if m.target_item else ""),
        f"  coordinator {m.coordinator or '- (from the locality or the defaults)'}; "
        f"supervisors {', '.join(m.supervisors) or '- (from the locality or the defaults)'}",
        "  limits:",
    ]
    lines += [f"    {step.value:<18} {limit}" for step, limit in m.limits.items()] or ["    none"]
    lines.append("  roster named for this matter:")
    lines += [f"    {_person_line(p)}" for p in detail.roster] or ["    nobody"]
    return "\n".join(lines)
