"""Finding cases and hand-offs through Temporal visibility: filters become queries over the typed search attributes.

Keyword filters take one value or a sequence of values (any of them); every filter given must hold. Every value
is checked before it reaches a query (codes by their pattern, stages and colours by their enums, instants as
aware datetimes), so a filter can never change the query's meaning. Visibility is eventually
consistent: a command's effect shows in `list()` a moment after the command returns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from temporalio.client import WorkflowExecution
from temporalio.common import SearchAttributeKey

from caseloop.errors import InputRejected
from schemas import search_attributes as sa
from schemas.api import CaseSummary, HandoffSummary
from schemas.case.stages import CardColour, CaseStage, Priority, SupervisionLevel
from schemas.handoff import HandoffStage, SlaColour
from schemas.registry import HandoffDirection

E = TypeVar("E", bound=StrEnum)
# A keyword filter: one value, or a sequence of them meaning any of them. Enums are strings too.
Many = str | Sequence[str]

CODE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class Query:
    """A visibility query built clause by clause; every clause is ANDed."""

    def __init__(self, kind: str) -> None:
        self._clauses = [f'{sa.KIND.name} = "{kind}"']

    def enum(self, key: SearchAttributeKey[str], field: str, kind: type[E], value: Many | None) -> Query:
        values = [_member(kind, field, item) for item in _each(value)]
        return self._keyword(key, values)

    def code(self, key: SearchAttributeKey[str], field: str, value: Many | None) -> Query:
        values = [_code(field, item) for item in _each(value)]
        return self._keyword(key, values)

    def due(self, *, overdue: bool | None, due_before: datetime | None, now: datetime | None = None) -> Query:
        key = sa.NEXT_DUE_AT.name
        if overdue is True:
            self._clauses.append(f'{key} < "{_instant("overdue", now or datetime.now(UTC))}"')
        elif overdue is False:
            self._clauses.append(f'({key} >= "{_instant("overdue", now or datetime.now(UTC))}" OR {key} IS NULL)')
        if due_before is not None:
            self._clauses.append(f'{key} < "{_instant("due_before", due_before)}"')
        return self

    def running(self, value: bool | None) -> Query:
        if value is True:
            self._clauses.append('ExecutionStatus = "Running"')
        elif value is False:
            self._clauses.append('ExecutionStatus != "Running"')
        return self

    def _keyword(self, key: SearchAttributeKey[str], values: list[str]) -> Query:
        if len(values) == 1:
            self._clauses.append(f'{key.name} = "{values[0]}"')
        elif values:
            quoted = ", ".join(f'"{value}"' for value in values)
            self._clauses.append(f"{key.name} IN ({quoted})")
        return self

    def __str__(self) -> str:
        return " AND ".join(self._clauses)


def case_query(
    *,
    stage: Many | None = None,
    card_colour: Many | None = None,
    department: Many | None = None,
    locality: Many | None = None,
    matter: Many | None = None,
    priority: Many | None = None,
    supervision_level: Many | None = None,
    overdue: bool | None = None,
    due_before: datetime | None = None,
    running: bool | None = None,
    now: datetime | None = None,
) -> str:
    """The visibility query of the case filters; each keyword filter takes one value or a sequence (any of)."""
    return str(
        Query("case")
        .enum(sa.STAGE, "stage", CaseStage, stage)
        .enum(sa.CARD_COLOUR, "card_colour", CardColour, card_colour)
        .code(sa.LEAD_DEPARTMENT, "department", department)
        .code(sa.LOCALITY, "locality", locality)
        .code(sa.MATTER, "matter", matter)
        .enum(sa.PRIORITY, "priority", Priority, priority)
        .enum(sa.SUPERVISION_LEVEL, "supervision_level", SupervisionLevel, supervision_level)
        .due(overdue=overdue, due_before=due_before, now=now)
        .running(running)
    )


def handoff_query(
    *,
    stage: Many | None = None,
    colour: Many | None = None,
    receiver: Many | None = None,
    locality: Many | None = None,
    matter: Many | None = None,
    direction: Many | None = None,
    overdue: bool | None = None,
    due_before: datetime | None = None,
    running: bool | None = None,
    now: datetime | None = None,
) -> str:
    """The visibility query of the hand-off filters; `receiver` is the department the push went to."""
    return str(
        Query("handoff")
        .enum(sa.STAGE, "stage", HandoffStage, stage)
        .enum(sa.CARD_COLOUR, "colour", SlaColour, colour)
        .code(sa.LEAD_DEPARTMENT, "receiver", receiver)
        .code(sa.LOCALITY, "locality", locality)
        .code(sa.MATTER, "matter", matter)
        .enum(sa.DIRECTION, "direction", HandoffDirection, direction)
        .due(overdue=overdue, due_before=due_before, now=now)
        .running(running)
    )


def party_clause(department: str) -> str:
    """The clause that keeps what `department` is party to (`CaseloopParties` holds every party's code)."""
    return f'{sa.PARTIES.name} = "{_code("department", department)}"'


def case_summary(execution: WorkflowExecution) -> CaseSummary:
    attributes = execution.typed_search_attributes
    return CaseSummary(
        case_id=execution.id,
        stage=attributes.get(sa.STAGE),
        card_colour=attributes.get(sa.CARD_COLOUR),
        lead_department=attributes.get(sa.LEAD_DEPARTMENT),
        locality=attributes.get(sa.LOCALITY),
        matter=attributes.get(sa.MATTER),
        priority=attributes.get(sa.PRIORITY),
        supervision_level=attributes.get(sa.SUPERVISION_LEVEL),
        next_due_at=attributes.get(sa.NEXT_DUE_AT),
        status=_status(execution),
        started_at=execution.start_time,
        closed_at=execution.close_time,
    )


def handoff_summary(execution: WorkflowExecution) -> HandoffSummary:
    attributes = execution.typed_search_attributes
    return HandoffSummary(
        handoff_id=execution.id,
        stage=attributes.get(sa.STAGE),
        colour=attributes.get(sa.CARD_COLOUR),
        matter=attributes.get(sa.MATTER),
        direction=attributes.get(sa.DIRECTION),
        receiver=attributes.get(sa.LEAD_DEPARTMENT),
        locality=attributes.get(sa.LOCALITY),
        next_due_at=attributes.get(sa.NEXT_DUE_AT),
        status=_status(execution),
        started_at=execution.start_time,
        closed_at=execution.close_time,
    )


def _status(execution: WorkflowExecution) -> str:
    return execution.status.name.lower() if execution.status is not None else "unknown"


def _each(value: Many | None) -> Iterable[Any]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence | set | frozenset):
        return [value]
    return list(value)


def _member(kind: type[E], field: str, value: Any) -> str:
    try:
        return kind(value).value
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InputRejected(
            f"{field}: {value!r} is not one of {allowed}", rule="filter.unknown-value", field=field
        ) from None


def _code(field: str, value: Any) -> str:
    if not isinstance(value, str) or not CODE.match(value):
        raise InputRejected(
            f"{field}: {value!r} is not a registry code ([A-Za-z0-9._-]{{1,64}})", rule="filter.code", field=field
        )
    return value


def _instant(field: str, value: datetime) -> str:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InputRejected(f"{field}: give an aware datetime (with its offset)", rule="filter.aware", field=field)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
