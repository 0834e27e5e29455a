"""Finding cases and hand-offs through Temporal visibility: filters become queries over the typed search attributes.

Keyword filters take one value or a sequence of values (any of them); every filter given must hold. Every value
is checked before it reaches a query (codes by their pattern, stages and colours by their enums, instants as
aware datetimes), so a filter can never change the query's meaning. Visibility is eventually
consistent: a command's effect shows in `list()` a moment after the command returns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.client import WorkflowExecution
from temporalio.common import SearchAttributeKey

from caseloop.errors import InputRejected
from caseloop.sdk.summaries import Many
from schemas import search_attributes as sa
from schemas.api import CaseSummary, HandoffSummary
from schemas.case.stages import CardColour, CaseStage, Priority, SupervisionLevel
from schemas.handoff import HandoffStage, SlaColour
from schemas.registry import HandoffDirection

E = TypeVar("E", bound=StrEnum)
S = TypeVar("S", bound=BaseModel)
# Each keyword filter: the search attribute it reads, and the enum of its values (None: registry codes).
FilterTable = Mapping[str, tuple[SearchAttributeKey[Any], type[StrEnum] | None]]

CODE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
CASE_FILTERS: FilterTable = {
    "stage": (sa.STAGE, CaseStage),
    "card_colour": (sa.CARD_COLOUR, CardColour),
    "department": (sa.LEAD_DEPARTMENT, None),  # the lead department
    "locality": (sa.LOCALITY, None),
    "matter": (sa.MATTER, None),
    "priority": (sa.PRIORITY, Priority),
    "supervision_level": (sa.SUPERVISION_LEVEL, SupervisionLevel),
    "channel": (sa.CHANNEL, None),  # an intake channel's code, `<channel>.<record number>`, or `unplaced`
}
HANDOFF_FILTERS: FilterTable = {
    "stage": (sa.STAGE, HandoffStage),
    "colour": (sa.SLA_COLOUR, SlaColour),
    "receiver": (sa.LEAD_DEPARTMENT, None),  # the department the push went to
    "locality": (sa.LOCALITY, None),
    "matter": (sa.MATTER, None),
    "direction": (sa.DIRECTION, HandoffDirection),
}
# What each summary's fields read, besides the workflow's ID, status and times.
CASE_FIELDS: Mapping[str, SearchAttributeKey[Any]] = {
    "stage": sa.STAGE,
    "card_colour": sa.CARD_COLOUR,
    "lead_department": sa.LEAD_DEPARTMENT,
    "locality": sa.LOCALITY,
    "matter": sa.MATTER,
    "priority": sa.PRIORITY,
    "supervision_level": sa.SUPERVISION_LEVEL,
    "channel": sa.CHANNEL,
}
HANDOFF_FIELDS = {
    "stage": sa.STAGE,
    "colour": sa.SLA_COLOUR,
    "matter": sa.MATTER,
    "direction": sa.DIRECTION,
    "receiver": sa.LEAD_DEPARTMENT,
    "locality": sa.LOCALITY,
}


class Query:
    """A visibility query built clause by clause; every clause is ANDed."""

    def __init__(self, kind: str) -> None:
        self._clauses = [f'{sa.KIND.name} = "{kind}"']

    def keywords(self, filters: FilterTable, given: Mapping[str, Many | None]) -> Query:
        """The keyword filters given, each checked against its enum or the code pattern."""
        for field, value in given.items():
            if field not in filters:
                raise TypeError(f"no filter {field!r}; the filters are {', '.join(filters)}")
            key, kind = filters[field]
            self._keyword(key, [_member(kind, field, item) if kind else _code(field, item) for item in _each(value)])
        return self

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

    def _keyword(self, key: SearchAttributeKey[Any], values: list[str]) -> None:
        if len(values) == 1:
            self._clauses.append(f'{key.name} = "{values[0]}"')
        elif values:
            quoted = ", ".join(f'"{value}"' for value in values)
            self._clauses.append(f"{key.name} IN ({quoted})")

    def __str__(self) -> str:
        return " AND ".join(self._clauses)


def case_query(
    *,
    overdue: bool | None = None,
    due_before: datetime | None = None,
    running: bool | None = None,
    now: datetime | None = None,
    **keywords: Many | None,
) -> str:
    """The visibility query of the case filters: the keywords of `CASE_FILTERS`, each one value or a sequence (any
    of them); `overdue` (a running step deadline has passed), `due_before`, `running`."""
    return _query("case", CASE_FILTERS, keywords, overdue, due_before, running, now)


def handoff_query(
    *,
    overdue: bool | None = None,
    due_before: datetime | None = None,
    running: bool | None = None,
    now: datetime | None = None,
    **keywords: Many | None,
) -> str:
    """The visibility query of the hand-off filters: the keywords of `HANDOFF_FILTERS`, then as for cases."""
    return _query("handoff", HANDOFF_FILTERS, keywords, overdue, due_before, running, now)


def _query(
    kind: str,
    filters: FilterTable,
    keywords: Mapping[str, Many | None],
    overdue: bool | None,
    due_before: datetime | None,
    running: bool | None,
    now: datetime | None,
) -> str:
    query = Query(kind).keywords(filters, keywords)
    return str(query.due(overdue=overdue, due_before=due_before, now=now).running(running))


def party_clause(department: str) -> str:
    """The clause that keeps what `department` is party to (`CaseloopParties` holds every party's code)."""
    return f'{sa.PARTIES.name} = "{_code("department", department)}"'


def case_summary(execution: WorkflowExecution) -> CaseSummary:
    return _summary(CaseSummary, "case_id", CASE_FIELDS, execution)


def handoff_summary(execution: WorkflowExecution) -> HandoffSummary:
    return _summary(HandoffSummary, "handoff_id", HANDOFF_FIELDS, execution)


def _summary(
    model: type[S], id_field: str, fields: Mapping[str, SearchAttributeKey[Any]], execution: WorkflowExecution
) -> S:
    attributes = execution.typed_search_attributes
    return model.model_validate(
        {
            id_field: execution.id,
            **{field: attributes.get(key) for field, key in fields.items()},
            "next_due_at": attributes.get(sa.NEXT_DUE_AT),
            "status": execution.status.name.lower() if execution.status is not None else "unknown",
            "started_at": execution.start_time,
            "closed_at": execution.close_time,
        }
    )


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
