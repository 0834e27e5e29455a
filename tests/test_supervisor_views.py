"""The supervisor views of docs/supervisor-views.md, run on the dev server's visibility: each saved filter, read
out of the document itself, finds exactly the cases in the state it names among those this test created.

The cases run on the production worker on the dev server, in real time (the time-skipping server answers no
visibility list), so their states come from commands: a supervisor's order puts a case under supervision, and an
order with a limit of seconds, missed, gives a red card and a deadline in the past, and the coordinator reports a
case to the leaders' joint meeting (the ladder's own last rung, 10 working days and more after a missed deadline,
cannot be reached in real time; the request raises the same level).
No hand-off is started: its clocks count working days from the push, so none would be past its limit in a test.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.store.migrate import upgrade
from caseloop.direct.case_start import start_case
from caseloop.direct.visibility import case_query
from schemas import search_attributes as sa
from schemas.case import commands as c
from schemas.case.stages import CardColour, CaseStage, Priority, Role, SlaColour, SupervisionLevel
from schemas.case.views import CaseQuery, CaseView
from schemas.handoff import HandoffStage
from schemas.registry import Limit
from services.registry.importer import import_registry
from tests.case.conftest import REGISTRY
from tests.case.parties import COORDINATOR, LEAD, LOCALITY, OTHER, SUPERVISOR, registration
from tests.support.eventually import eventually
from workers.resources import open_resources
from workers.settings import Settings
from workers.worker import build_worker
from workflows.case.workflow import CaseWorkflow

DOC = Path(__file__).parents[1] / "docs" / "supervisor-views.md"
VIEW_BLOCK = re.compile(r"^```visibility ([a-z0-9-]+)\n(.+?)\n```$", re.MULTILINE | re.DOTALL)
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
SHANGHAI = ZoneInfo("Asia/Shanghai")

CASE_VIEWS = {
    "red-cards-in-my-department",
    "due-this-week",
    "under-supervision",
    "loops-open-past-their-limit",
    "escalated-to-leaders",
}
HANDOFF_VIEWS = {"handoff-loops-past-their-limit"}
# What each keyword attribute a view compares with a literal can hold.
VALUES: dict[str, set[str]] = {
    sa.KIND.name: {"case", "handoff"},
    sa.STAGE.name: {stage.value for stage in CaseStage} | {stage.value for stage in HandoffStage},
    sa.CARD_COLOUR.name: {colour.value for colour in CardColour},
    sa.SLA_COLOUR.name: {colour.value for colour in SlaColour},
    sa.SUPERVISION_LEVEL.name: {level.value for level in SupervisionLevel},
    sa.PRIORITY.name: {priority.value for priority in Priority},
}
# Temporal's own attributes a view may use; an empty set: compared only with placeholders or IDs.
BUILT_IN: dict[str, set[str]] = {
    "ExecutionStatus": {"Running", "Completed", "Failed", "Canceled", "Terminated", "ContinuedAsNew", "TimedOut"},
    "WorkflowId": set(),
}


def documented_views() -> dict[str, str]:
    views = {name: query.strip() for name, query in VIEW_BLOCK.findall(DOC.read_text(encoding="utf-8"))}
    assert len(views) == len(VIEW_BLOCK.findall(DOC.read_text(encoding="utf-8"))), "a view is named twice"
    return views


def filled(query: str, values: dict[str, str]) -> str:
    """The query as a supervisor saves it, with every placeholder replaced; an unknown placeholder fails."""

    def value(match: re.Match[str]) -> str:
        assert match[1] in values, f"placeholder {{{match[1]}}} is not one the document explains"
        return values[match[1]]

    return PLACEHOLDER.sub(value, query)


def instant(moment: datetime) -> str:
    """An instant as the document writes them: the legal calendar's wall clock with its offset."""
    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds")


def end_of_week(moment: datetime) -> datetime:
    """Monday 00:00 of the week after the one holding `moment`, on the Shanghai wall clock."""
    local = moment.astimezone(SHANGHAI)
    return datetime(local.year, local.month, local.day, tzinfo=SHANGHAI) + timedelta(days=7 - local.weekday())


def test_the_document_holds_every_view_the_issue_names() -> None:
    assert set(documented_views()) == CASE_VIEWS | HANDOFF_VIEWS


def test_the_views_compare_only_values_that_exist() -> None:
    """Every attribute a view names is published, and every value it compares a keyword with is one the attribute
    can hold: a misspelt colour or level would find nothing and look like good news."""
    published = {key.name for key in sa.ALL} | set(BUILT_IN)
    for name, query in documented_views().items():
        for attribute in re.findall(r"\b([A-Z][A-Za-z]+) (?:=|!=|<|>=|IN)", query):
            assert attribute in published, f"{name}: {attribute} is not a search attribute"
        compared = re.findall(r'\b([A-Z][A-Za-z]+) = "([^"{]+)"', query)
        for attribute, listed in re.findall(r"\b([A-Z][A-Za-z]+) IN \(([^)]*)\)", query):
            compared += [(attribute, value) for value in re.findall(r'"([^"]+)"', listed)]
        for attribute, value in compared:
            allowed = VALUES.get(attribute) or BUILT_IN.get(attribute)
            assert allowed is not None, f"{name}: no list of the values of {attribute}"
            assert value in allowed, f"{name}: {attribute} never holds {value!r}; it holds {sorted(allowed)}"


@pytest.fixture
async def production_worker(dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str) -> AsyncIterator[None]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    await upgrade(url)
    async with open_resources(Settings(data_dir=tmp_path, store_url=url, task_queue=task_queue)) as resources:
        await import_registry(resources.sessions, [REGISTRY])
        async with build_worker(dev_env.client, resources, task_queue):
            yield


def actor(department: str, role: Role) -> c.Actor:
    return c.Actor(department=department, role=role)


async def launched(handle: WorkflowHandle[CaseWorkflow, CaseView]) -> None:
    """Accepted by the coordinator and signed by both parties: the case awaits the lead's commitment."""
    await handle.execute_update(CaseWorkflow.accept, c.AcceptCase(actor=actor(COORDINATOR, Role.COORDINATOR)))
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=actor(LEAD, Role.LEAD)))
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=actor(LOCALITY, Role.LOCALITY)))


def order_to_the_lead(limit: Limit | None = None) -> c.IssueSupervisionOrder:
    return c.IssueSupervisionOrder(
        actor=actor(SUPERVISOR, Role.SUPERVISOR),
        reason="a leader asked for this permit to be watched",
        department=LEAD,
        content="report on the fire review",
        limit=limit,
    )


async def state_of(handle: WorkflowHandle[CaseWorkflow, CaseView]) -> CaseView:
    return await handle.query(CaseWorkflow.state, CaseQuery())


async def matching(client: Client, query: str, ids: list[str]) -> set[str]:
    """The IDs among `ids` that the query finds: the test's own cases only, whatever else the server holds."""
    quoted = ", ".join(f'"{workflow_id}"' for workflow_id in ids)
    scoped = f"({query}) AND WorkflowId IN ({quoted})"
    return {execution.id async for execution in client.list_workflows(scoped)}


async def settles_to(client: Client, query: str, ids: list[str], expected: set[str], name: str) -> None:
    def said(found: set[str]) -> str:
        return f"{name}: found {sorted(found)}, expected {sorted(expected)}"

    await eventually(lambda: matching(client, query, ids), lambda found: found == expected, what=said, pause=0.2)


async def test_each_saved_view_finds_exactly_the_cases_in_its_state(
    dev_env: WorkflowEnvironment, production_worker: None, task_queue: str
) -> None:
    client = dev_env.client
    run = uuid.uuid4().hex[:10]
    now = datetime.now(UTC)

    def number(name: str) -> str:
        return f"sv-{run}-{name}"

    # Plain: registered a moment ago, waiting for the coordinator to accept it within a working day.
    plain = await start_case(client, registration(case_number=number("plain")), task_queue=task_queue)
    # Supervised: launched, then a supervisor issues a supervision order to the lead (the policy's limit).
    supervised = await start_case(client, registration(case_number=number("supervised")), task_queue=task_queue)
    # Red: launched, then an order with a 36-second limit: the lead misses it, and a missed order earns a red card.
    red = await start_case(client, registration(case_number=number("red")), task_queue=task_queue)
    # Escalated: launched, then the coordinator reports it to the city leaders' joint meeting.
    leaders = await start_case(client, registration(case_number=number("leaders")), task_queue=task_queue)
    cases = [plain, supervised, red, leaders]
    try:
        await launched(leaders)
        await leaders.execute_update(
            CaseWorkflow.request_joint_meeting,
            c.RequestJointMeeting(
                actor=actor(COORDINATOR, Role.COORDINATOR), reason="the permit needs a decision of the city"
            ),
        )
        assert (await state_of(leaders)).supervision_level is SupervisionLevel.LEADERS_MEETING
        await launched(supervised)
        await supervised.execute_update(CaseWorkflow.issue_supervision_order, order_to_the_lead())
        await launched(red)
        moments = Limit.model_validate({"amount": "0.01", "unit": "natural-hours"})
        await red.execute_update(CaseWorkflow.issue_supervision_order, order_to_the_lead(moments))
        red_view = await eventually(
            lambda: state_of(red),
            lambda view: view.card_colour is CardColour.RED,
            what=lambda view: f"the red case never got its red card: {view.cards}",
            pause=0.5,
        )
        assert red_view.supervision_level is SupervisionLevel.SUPERVISION_ORDER

        ids = [handle.id for handle in cases]
        views = {handle.id: await state_of(handle) for handle in cases}
        plain_due = views[plain.id].next_due_at
        assert plain_due is not None and plain_due > now
        # "This week" is the week of the plain case's deadline, so the test means the same on any weekday.
        week_end = end_of_week(plain_due)
        # The present as a supervisor writes it, in whole seconds, rounded up: the missed order is behind it.
        present = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        values = {"department": LEAD, "now": instant(present), "week_end": instant(week_end)}
        due_in_week = {
            case_id
            for case_id, view in views.items()
            if view.next_due_at is not None and present <= view.next_due_at < week_end
        }
        assert plain.id in due_in_week and red.id not in due_in_week
        expected = {
            "red-cards-in-my-department": {red.id},
            "due-this-week": due_in_week,
            "under-supervision": {supervised.id, red.id, leaders.id},
            "loops-open-past-their-limit": {red.id},
            "escalated-to-leaders": {leaders.id},
        }
        queries = documented_views()
        for name in sorted(CASE_VIEWS):
            # Visibility is eventually consistent: the last upserts may still be on their way.
            await settles_to(client, filled(queries[name], values), ids, expected[name], name)
        # Another department's red-card view is empty: the lead clause scopes it.
        other = filled(queries["red-cards-in-my-department"], {**values, "department": OTHER})
        assert await matching(client, other, ids) == set()
        # The hand-off view is well formed and finds none of these cases.
        assert await matching(client, queries["handoff-loops-past-their-limit"], ids) == set()
        # The CLI and HTTP equivalents the document gives agree (both build their query with case_query).
        levels = ["supervision_order", "circular", "admonitory_talk", "leaders_meeting"]
        equivalents = {
            "red-cards-in-my-department": case_query(card_colour="red", department=LEAD, running=True),
            "due-this-week": case_query(overdue=False, due_before=week_end, running=True, now=present),
            "under-supervision": case_query(supervision_level=levels, running=True),
            "loops-open-past-their-limit": case_query(overdue=True, running=True, now=present),
            "escalated-to-leaders": case_query(supervision_level="leaders_meeting", running=True),
        }
        for name, query in equivalents.items():
            assert await matching(client, query, ids) == expected[name], f"the CLI form of {name}"
    finally:
        stop = c.TerminateCase(actor=actor(COORDINATOR, Role.COORDINATOR), reason="the test is over")
        for handle in cases:
            await handle.execute_update(CaseWorkflow.terminate, stop)
