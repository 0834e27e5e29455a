"""Reads registry files (YAML, or CSV tables) into located records, with every field-level problem named.

A YAML file holds `departments` (with their `functions` and `roster`), `matters`, `defaults` (the registry-wide
coordinator and supervisors) and `channels` (intake channels, docs/intake.md). A CSV file holds one table,
recognised by its header: departments, functions, roster or matters. docs/registry.md describes both.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from schemas.clock import CardProfileName
from schemas.intake import ChannelKind
from schemas.limits import LimitText
from schemas.registry import (
    ClaimMode,
    DepartmentLevel,
    HandoffDirection,
    ItemKind,
    MatterKind,
    MatterStep,
    RegistryProblem,
    RosterRole,
    TriggerEvent,
)

# Sections read here and checked by services.registry.collaboration (its SECTIONS).
COLLABORATION_SECTIONS = ("shared_items", "deliveries", "joint_matters")
# The sections this module reads itself.
SECTIONS = ("departments", "matters", "defaults", "leaders_rungs", "channels")


def _text(value: Any) -> Any:
    """YAML reads 13800000001 or 110 as numbers; codes and phones are text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal):
        return str(value)
    return value.strip() if isinstance(value, str) else value


Code = Annotated[str, BeforeValidator(_text), Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Text = Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=200)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ItemSpec(_Spec):
    code: Code
    name: Text


class FunctionsSpec(_Spec):
    approval: list[ItemSpec] = []
    supervision: list[ItemSpec] = []


class RosterPersonSpec(_Spec):
    role: RosterRole
    name: Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=100)]
    # Optional here so that a missing contact is reported with the rule it breaks (see validation).
    phone: Annotated[str | None, BeforeValidator(_text)] = None
    matter: Code | None = None


class DepartmentSpec(_Spec):
    code: Code
    name: Text
    level: DepartmentLevel
    parent: Code | None = None
    locality: bool = False
    webhook_url: Annotated[str | None, BeforeValidator(_text), Field(max_length=500)] = None
    secret_ref: Annotated[str | None, BeforeValidator(_text), Field(max_length=100)] = None
    active: bool = True
    functions: FunctionsSpec | None = None
    roster: list[RosterPersonSpec] | None = None
    # For the cases in this department's area (a locality's entry, usually), unless their matter names its own.
    coordinator: Code | None = None
    supervisors: list[Code] = []


class MatterSpec(_Spec):
    code: Code
    name: Text
    kind: MatterKind
    direction: HandoffDirection | None = None
    theme: Annotated[str | None, BeforeValidator(_text), Field(max_length=100)] = None
    trigger: TriggerEvent
    trigger_item: Code | None = None
    target_item: Code | None = None
    initiators: list[Code] = []
    lead: Code | None = None
    collaborators: list[Code] = []
    claim_mode: ClaimMode = ClaimMode.EXPLICIT
    card_profile: CardProfileName = CardProfileName.DEFAULT
    limits: dict[MatterStep, LimitText] = {}
    statutory_limit: LimitText | None = None
    extension_cap: LimitText | None = None
    max_extensions: int = Field(1, ge=0, le=10)
    active: bool = True
    coordinator: Code | None = None
    supervisors: list[Code] = []


class DefaultsSpec(_Spec):
    """The registry-wide coordinator and supervisors, for cases whose matter and locality name none."""

    coordinator: Code | None = None
    supervisors: list[Code] = []


class LeadersRungSpec(_Spec):
    """A matter or a locality whose escalation ladder ends, after the admonitory talk, in a report to the city leaders'
    joint meeting (市領導會辦): `after` the talk (default: the case policy's), if the step is still overdue; `limit`
    is when its outcome is due (default: the case policy's)."""

    matter: Code | None = None
    locality: Code | None = None
    after: LimitText | None = None
    limit: LimitText | None = None

    @property
    def scope(self) -> tuple[str, str]:
        return ("matter", self.matter) if self.matter else ("locality", self.locality or "")


MappingKey = Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=100)]


class ChannelSpec(_Spec):
    """An intake channel: its feeding department, its mapping tables and where unmapped records land."""

    code: Code
    name: Text
    kind: ChannelKind
    department: Code
    pushes: bool = False
    categories: dict[MappingKey, Code] = Field(default_factory=dict, max_length=2000)
    localities: dict[MappingKey, Code] = Field(default_factory=dict, max_length=2000)
    address_localities: dict[MappingKey, Code] = Field(default_factory=dict, max_length=200)
    unplaced_matter: Code
    unplaced_locality: Code
    active: bool = True


class FunctionRow(_Spec):
    department: Code
    kind: ItemKind
    item_code: Code
    item_name: Text


class RosterRow(RosterPersonSpec):
    department: Code


T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Located(Generic[T]):
    file: str
    where: str
    value: T
    failed: frozenset[str] = frozenset()  # fields already reported as bad, left out of the value

    def problem(self, field_name: str, rule: str) -> RegistryProblem:
        return RegistryProblem(file=self.file, where=self.where, field=field_name, rule=rule)


@dataclass
class RegistryDocument:
    """Everything the files say, flattened: one entry per record, each knowing where it came from."""

    files: list[str] = field(default_factory=list)
    departments: list[Located[DepartmentSpec]] = field(default_factory=list)
    matters: list[Located[MatterSpec]] = field(default_factory=list)
    functions: list[Located[FunctionRow]] = field(default_factory=list)
    roster: list[Located[RosterRow]] = field(default_factory=list)
    defaults: list[Located[DefaultsSpec]] = field(default_factory=list)  # one per file that states them
    # The leaders' rungs; a file that states the section replaces them all (None: no file states it).
    leaders_rungs: list[Located[LeadersRungSpec]] | None = None
    channels: list[Located[ChannelSpec]] = field(default_factory=list)
    # Departments whose function list / roster the files state; those lists replace the stored ones.
    function_lists: dict[str, Located[Any]] = field(default_factory=dict)
    rosters: dict[str, Located[Any]] = field(default_factory=dict)
    # Codes of records that failed field checks, so references to them are not reported a second time.
    declared_departments: set[str] = field(default_factory=set)
    declared_matters: set[str] = field(default_factory=set)
    problems: list[RegistryProblem] = field(default_factory=list)
    unreadable: bool = False
    # The sections of departments working for each other, as (file, content) per section; read and checked by
    # services.registry.collaboration.
    collaboration: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)


def read_registry_files(paths: list[Path]) -> RegistryDocument:
    document = RegistryDocument()
    for path in paths:
        document.files.append(path.name)
        try:
            content = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            document.problems.append(
                RegistryProblem(file=path.name, where="file", field="-", rule=f"unreadable: {error}")
            )
            document.unreadable = True
            continue
        if path.suffix.lower() == ".csv":
            _read_csv(document, path.name, content)
        elif path.suffix.lower() in {".yaml", ".yml"}:
            _read_yaml(document, path.name, content)
        else:
            document.problems.append(
                RegistryProblem(
                    file=path.name, where="file", field="-", rule="a registry file ends in .yaml, .yml or .csv"
                )
            )
            document.unreadable = True
    return document


def _validation_problems(file: str, where: str, error: ValidationError) -> list[RegistryProblem]:
    problems = []
    for detail in error.errors():
        field_name = ".".join(str(part) for part in detail["loc"]) or "-"
        rule = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "missing":
            rule = "is required"
        elif detail["type"] == "extra_forbidden":
            rule = "is not a field of this record (misspelt?)"
        problems.append(RegistryProblem(file=file, where=where, field=field_name, rule=rule))
    return problems


def _parse(document: RegistryDocument, model: type[M], raw: Any, file: str, where: str) -> Located[M] | None:
    """The record, or None; a record with bad optional fields is kept without them, so that the rest of it is
    still checked against the other records (and every problem is found in one run)."""
    try:
        return Located(file, where, model.model_validate(raw))
    except ValidationError as error:
        document.problems.extend(_validation_problems(file, where, error))
        failed = frozenset(str(detail["loc"][0]) for detail in error.errors() if detail["loc"])
    if not isinstance(raw, dict) or not failed:
        return None
    try:
        rest = model.model_validate({key: value for key, value in raw.items() if key not in failed})
    except ValidationError:
        return None
    return Located(file, where, rest, failed)


def _declared_code(raw: Any, key: str = "code") -> str | None:
    value = raw.get(key) if isinstance(raw, dict) else None
    return str(value).strip() if isinstance(value, str | int) and str(value).strip() else None


def _read_yaml(document: RegistryDocument, file: str, content: str) -> None:
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError as error:
        document.problems.append(RegistryProblem(file=file, where="file", field="-", rule=f"not valid YAML: {error}"))
        document.unreadable = True
        return
    if not isinstance(data, dict):
        document.problems.append(
            RegistryProblem(
                file=file, where="file", field="-", rule="the top level is a mapping of departments/matters"
            )
        )
        document.unreadable = True
        return
    for key in data:
        if key in COLLABORATION_SECTIONS:
            document.collaboration.setdefault(key, []).append((file, data[key]))
        elif key not in SECTIONS:
            document.problems.append(
                RegistryProblem(
                    file=file,
                    where="top level",
                    field=str(key),
                    rule=f"is not a section ({', '.join(SECTIONS + COLLABORATION_SECTIONS)})",
                )
            )
    if "defaults" in data:
        if isinstance(data["defaults"], dict):
            if (defaults := _parse(document, DefaultsSpec, data["defaults"], file, "defaults")) is not None:
                document.defaults.append(defaults)
        else:
            document.problems.append(
                RegistryProblem(
                    file=file, where="top level", field="defaults", rule="must be a mapping (coordinator, supervisors)"
                )
            )
    for name in ("departments", "matters", "channels"):
        if not isinstance(data.get(name, []), list):
            document.problems.append(RegistryProblem(file=file, where="top level", field=name, rule="must be a list"))
    departments: list[Any] = data["departments"] if isinstance(data.get("departments"), list) else []
    matters: list[Any] = data["matters"] if isinstance(data.get("matters"), list) else []

    for index, raw in enumerate(departments):
        where = f"departments[{index}]"
        if (code := _declared_code(raw)) is not None:
            document.declared_departments.add(code)
            where = f"{where} ({code})"
        located = _parse(document, DepartmentSpec, raw, file, where)
        if located is None:
            continue
        document.departments.append(located)
        spec = located.value
        if spec.functions is not None:
            document.function_lists.setdefault(spec.code, Located(file, f"{where}.functions", None))
            for kind, items in (
                (ItemKind.APPROVAL, spec.functions.approval),
                (ItemKind.SUPERVISION, spec.functions.supervision),
            ):
                for item_index, item in enumerate(items):
                    function = FunctionRow(department=spec.code, kind=kind, item_code=item.code, item_name=item.name)
                    document.functions.append(Located(file, f"{where}.functions.{kind.value}[{item_index}]", function))
        if spec.roster is not None:
            document.rosters.setdefault(spec.code, Located(file, f"{where}.roster", None))
            for person_index, person in enumerate(spec.roster):
                entry = RosterRow(department=spec.code, **person.model_dump())
                document.roster.append(Located(file, f"{where}.roster[{person_index}]", entry))

    for index, raw in enumerate(matters):
        where = f"matters[{index}]"
        if (code := _declared_code(raw)) is not None:
            document.declared_matters.add(code)
            where = f"{where} ({code})"
        if (matter := _parse(document, MatterSpec, raw, file, where)) is not None:
            document.matters.append(matter)
    if "leaders_rungs" in data:
        _read_leaders_rungs(document, file, data["leaders_rungs"])
    _read_channels(document, file, data)


def _read_leaders_rungs(document: RegistryDocument, file: str, rungs: Any) -> None:
    """`leaders_rungs`: a list of `{matter: CODE}` or `{locality: CODE}`, each with an optional `limit`."""
    if not isinstance(rungs, list):
        document.problems.append(
            RegistryProblem(file=file, where="top level", field="leaders_rungs", rule="must be a list")
        )
        return
    located = document.leaders_rungs = document.leaders_rungs or []
    for index, raw in enumerate(rungs):
        where = f"leaders_rungs[{index}]"
        rung = _parse(document, LeadersRungSpec, raw, file, where)
        if rung is None:
            continue
        if (rung.value.matter is None) == (rung.value.locality is None):
            document.problems.append(rung.problem("matter", "name exactly one of matter and locality"))
            continue
        located.append(rung)


def _read_channels(document: RegistryDocument, file: str, data: dict[Any, Any]) -> None:
    channels: list[Any] = data["channels"] if isinstance(data.get("channels"), list) else []
    for index, raw in enumerate(channels):
        where = f"channels[{index}]"
        if (code := _declared_code(raw)) is not None:
            where = f"{where} ({code})"
        if (channel := _parse(document, ChannelSpec, raw, file, where)) is not None:
            document.channels.append(channel)


# CSV tables: required columns, then optional ones. A file is the table whose required columns it has.
CSV_TABLES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "departments": (
        frozenset({"code", "name", "level"}),
        frozenset({"parent", "locality", "webhook_url", "secret_ref", "active", "coordinator", "supervisors"}),
    ),
    "functions": (frozenset({"department", "kind", "item_code", "item_name"}), frozenset()),
    "roster": (frozenset({"department", "role", "name", "phone"}), frozenset({"matter"})),
    "matters": (
        frozenset({"code", "name", "kind", "trigger"}),
        frozenset(
            {
                "direction",
                "theme",
                "trigger_item",
                "target_item",
                "initiators",
                "lead",
                "collaborators",
                "claim_mode",
                "card_profile",
                "limits",
                "statutory_limit",
                "extension_cap",
                "max_extensions",
                "active",
                "coordinator",
                "supervisors",
            }
        ),
    ),
}
CSV_LIST_COLUMNS = {"initiators", "collaborators", "supervisors"}


def _csv_lists(row: dict[str, Any]) -> dict[str, Any]:
    """List cells are written `A;B;C`."""
    raw: dict[str, Any] = dict(row)
    for column in CSV_LIST_COLUMNS & raw.keys():
        raw[column] = [part.strip() for part in raw[column].split(";") if part.strip()]
    return raw


def _csv_table(header: list[str]) -> str | None:
    columns = set(header)
    matches = [name for name, (required, _optional) in CSV_TABLES.items() if required <= columns]
    return matches[0] if len(matches) == 1 else None


def _read_csv(document: RegistryDocument, file: str, content: str) -> None:
    reader = csv.DictReader(io.StringIO(content))
    header = [column.strip() for column in reader.fieldnames or []]
    table = _csv_table(header)
    if table is None:
        expected = "; ".join(f"{name}: {', '.join(sorted(required))}" for name, (required, _) in CSV_TABLES.items())
        document.problems.append(
            RegistryProblem(
                file=file,
                where="header",
                field=",".join(header) or "-",
                rule=f"matches no table; columns needed: {expected}",
            )
        )
        document.unreadable = True
        return
    required, optional = CSV_TABLES[table]
    unknown = [column for column in header if column not in required | optional]
    for column in unknown:
        document.problems.append(
            RegistryProblem(file=file, where="header", field=column, rule=f"is not a column of the {table} table")
        )
    for line, raw_row in enumerate(reader, start=2):
        where = f"row {line}"
        row = {
            key.strip(): value.strip() for key, value in raw_row.items() if key and key.strip() in required | optional
        }
        row = {key: value for key, value in row.items() if value}  # an empty cell is an absent field
        if not row:
            continue
        if table == "departments":
            _csv_department(document, file, where, row)
        elif table == "functions":
            if (function := _parse(document, FunctionRow, row, file, where)) is not None:
                document.functions.append(function)
                document.function_lists.setdefault(function.value.department, Located(file, where, None))
        elif table == "roster":
            if (person := _parse(document, RosterRow, row, file, where)) is not None:
                document.roster.append(person)
                document.rosters.setdefault(person.value.department, Located(file, where, None))
        else:
            _csv_matter(document, file, where, row)


def _csv_department(document: RegistryDocument, file: str, where: str, row: dict[str, Any]) -> None:
    if (code := _declared_code(row)) is not None:
        document.declared_departments.add(code)
        where = f"{where} ({code})"
    if (department := _parse(document, DepartmentSpec, _csv_lists(row), file, where)) is not None:
        document.departments.append(department)


def _csv_matter(document: RegistryDocument, file: str, where: str, row: dict[str, Any]) -> None:
    if (code := _declared_code(row)) is not None:
        document.declared_matters.add(code)
        where = f"{where} ({code})"
    raw = _csv_lists(row)
    if "limits" in raw:
        limits: dict[str, str] = {}
        for part in (p.strip() for p in raw["limits"].split(";")):
            step, equals, limit = part.partition("=")
            if not equals:
                document.problems.append(
                    RegistryProblem(
                        file=file, where=where, field="limits", rule=f"{part!r} is not '<step>=<amount> <unit>'"
                    )
                )
                return
            limits[step.strip()] = limit.strip()
        raw["limits"] = limits
    if (matter := _parse(document, MatterSpec, raw, file, where)) is not None:
        document.matters.append(matter)
