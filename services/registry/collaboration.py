"""The registry's sections for departments working for each other: `shared_items` (who answers which verification
question, where, and who may ask), `deliveries` (who delivers what to whom, by when) and `joint_matters` ("one
thing" matters as department steps). docs/joint-work.md describes them.

Read with the rest of a registry file, checked against the departments the files and the store know, and written in
the same unit of work as the import: created or updated by code, never deleted (`active: false` retires one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from activities.gateway.endpoints import EndpointRefused, WebhookPolicy, check_url
from activities.store.collaboration import (
    CollaborationRepository,
    JointMatterRow,
    ScheduledDeliveryRow,
    SharedItemRow,
)
from schemas.joint.definition import JointMatter, StepMode
from schemas.registry import RegistryProblem, SectionSummary
from schemas.scheduled import ScheduledDelivery
from schemas.verification import Code


class SharedItemSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Code
    name: str = Field(min_length=1, max_length=200)
    department: Code
    system: str = Field(min_length=1, max_length=100)
    endpoint_url: str = Field(min_length=1, max_length=500)
    secret_ref: Annotated[str | None, Field(max_length=100)] = None
    timeout_seconds: float = Field(10.0, gt=0, le=30)
    grantees: list[Code] = Field(default_factory=list, max_length=200)
    active: bool = True


class DeliverySpec(ScheduledDelivery):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JointMatterSpec(JointMatter):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class CollaborationSections:
    shared_items: list[tuple[str, str, SharedItemSpec]] = field(default_factory=list)
    deliveries: list[tuple[str, str, DeliverySpec]] = field(default_factory=list)
    joint_matters: list[tuple[str, str, JointMatterSpec]] = field(default_factory=list)
    problems: list[RegistryProblem] = field(default_factory=list)


def read_sections(raw: dict[str, list[tuple[str, Any]]]) -> CollaborationSections:
    """The sections as read from each file (`raw[section]` holds (file, content) pairs), every problem named."""
    sections = CollaborationSections()
    models: dict[str, type[BaseModel]] = {
        "shared_items": SharedItemSpec,
        "deliveries": DeliverySpec,
        "joint_matters": JointMatterSpec,
    }
    for name, model in models.items():
        for file, content in raw.get(name, []):
            if not isinstance(content, list):
                sections.problems.append(
                    RegistryProblem(file=file, where="top level", field=name, rule="must be a list")
                )
                continue
            for index, record in enumerate(content):
                where = f"{name}[{index}]"
                if isinstance(record, dict) and isinstance(record.get("code"), str):
                    where = f"{where} ({record['code']})"
                try:
                    spec = model.model_validate(record)
                except ValidationError as error:
                    for detail in error.errors():
                        field_name = ".".join(str(part) for part in detail["loc"]) or "-"
                        rule = (
                            "is required"
                            if detail["type"] == "missing"
                            else detail["msg"].removeprefix("Value error, ")
                        )
                        sections.problems.append(RegistryProblem(file=file, where=where, field=field_name, rule=rule))
                    continue
                getattr(sections, name).append((file, where, spec))
    return sections


def validate_sections(
    sections: CollaborationSections, departments: set[str], items: set[str], policy: WebhookPolicy
) -> list[RegistryProblem]:
    """References to departments and items, duplicates and endpoint URLs; `items` are the stored item codes."""
    problems = list(sections.problems)

    def problem(file: str, where: str, field_name: str, rule: str) -> None:
        problems.append(RegistryProblem(file=file, where=where, field=field_name, rule=rule))

    def department(file: str, where: str, field_name: str, code: str) -> None:
        if code not in departments:
            problem(file, where, field_name, f"unknown department {code}: define it in these files or the registry")

    seen: set[tuple[str, str]] = set()
    for kind, records in (
        ("shared_items", sections.shared_items),
        ("deliveries", sections.deliveries),
        ("joint_matters", sections.joint_matters),
    ):
        for file, where, spec in records:
            if (kind, spec.code) in seen:
                problem(file, where, "code", f"duplicate: {spec.code} is defined twice")
            seen.add((kind, spec.code))
    known_items = items | {spec.code for _, _, spec in sections.shared_items}
    for file, where, item in sections.shared_items:
        department(file, where, "department", item.department)
        for index, grantee in enumerate(item.grantees):
            department(file, where, f"grantees[{index}]", grantee)
        try:
            check_url(item.endpoint_url, policy)
        except EndpointRefused as refused:
            problem(file, where, "endpoint_url", refused.rule)
        if item.secret_ref is None:
            problem(file, where, "secret_ref", "is required: questions and answers are signed with that secret")
    for file, where, delivery in sections.deliveries:
        department(file, where, "deliverer", delivery.deliverer)
        department(file, where, "receiver", delivery.receiver)
        if delivery.pull_url is not None:
            try:
                check_url(delivery.pull_url, policy)
            except EndpointRefused as refused:
                problem(file, where, "pull_url", refused.rule)
    for file, where, matter in sections.joint_matters:
        for index, step in enumerate(matter.steps):
            department(file, where, f"steps[{index}].department", step.department)
            if step.mode is StepMode.VERIFICATION and step.item not in known_items:
                problem(file, where, f"steps[{index}].item", f"unknown shared data item {step.item}")
    return problems


@dataclass
class CollaborationSummary:
    shared_items: SectionSummary = field(default_factory=SectionSummary)
    deliveries: SectionSummary = field(default_factory=SectionSummary)
    joint_matters: SectionSummary = field(default_factory=SectionSummary)


async def stored_item_codes(repository: CollaborationRepository) -> set[str]:
    return {row.code for row in await repository.shared_items()}


async def apply_sections(
    repository: CollaborationRepository, sections: CollaborationSections, now: datetime
) -> CollaborationSummary:
    summary = CollaborationSummary()
    for _, _, item in sections.shared_items:
        values: dict[str, Any] = {
            "name": item.name,
            "department_code": item.department,
            "system": item.system,
            "endpoint_url": item.endpoint_url,
            "secret_ref": item.secret_ref,
            "timeout_seconds": item.timeout_seconds,
            "grantees": list(item.grantees),
            "active": item.active,
        }
        _upsert(
            repository,
            await repository.shared_item(item.code),
            SharedItemRow,
            item.code,
            values,
            now,
            summary.shared_items,
        )
    for _, _, delivery in sections.deliveries:
        values = {
            "name": delivery.name,
            "deliverer": delivery.deliverer,
            "receiver": delivery.receiver,
            "calendar": delivery.calendar.value,
            "due": delivery.due.strftime("%H:%M"),
            "missing_after": delivery.missing_after.strftime("%H:%M"),
            "max_records": delivery.max_records,
            "pull_url": delivery.pull_url,
            "pull_at": delivery.pull_at.strftime("%H:%M") if delivery.pull_at else None,
            "secret_ref": delivery.secret_ref,
            "active": delivery.active,
            "order_limit": str(delivery.order_limit),
        }
        _upsert(
            repository,
            await repository.scheduled_delivery(delivery.code),
            ScheduledDeliveryRow,
            delivery.code,
            values,
            now,
            summary.deliveries,
        )
    for _, _, matter in sections.joint_matters:
        definition = JointMatter.model_validate(matter.model_dump()).model_dump(mode="json")
        values = {"name": matter.name, "definition": definition, "active": matter.active}
        _upsert(
            repository,
            await repository.joint_matter(matter.code),
            JointMatterRow,
            matter.code,
            values,
            now,
            summary.joint_matters,
        )
    return summary


def _upsert(
    repository: CollaborationRepository,
    row: Any,
    model: type[SharedItemRow | ScheduledDeliveryRow | JointMatterRow],
    code: str,
    values: dict[str, Any],
    now: datetime,
    summary: SectionSummary,
) -> None:
    if row is None:
        repository.add(model(code=code, updated_at=now, **values))
        summary.created += 1
        return
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    if changed:
        row.updated_at = now
        summary.updated += 1
    else:
        summary.unchanged += 1
