"""A case that takes the longest comments by the hundred: it continues as new with a state Temporal accepts, its
timeline answers stay small, and the store's audit trail keeps every text whole."""

from __future__ import annotations

from temporalio.worker import Worker

from schemas.case import commands as c
from schemas.case.stages import CaseStage
from schemas.case.views import TimelineQuery
from tests.case.driver import Driver, coordinator, send, supervisor
from tests.case.scenarios import terminate
from workflows.case.workflow import CaseWorkflow

TEXT = "中" * 4000  # the longest comment, three bytes a character
REASON = "因" * 2000
COMMENTS = 130  # about 116 of them used to carry the continue-as-new input past Temporal's 2 MB


async def test_the_longest_comments_by_the_hundred_keep_the_case_within_temporals_limits(
    case_worker: Worker, driver: Driver
) -> None:
    handle = await driver.start(policy={"max_history_events": 400})
    await send(handle, CaseWorkflow.accept, c.AcceptCase(actor=coordinator))
    for _ in range(COMMENTS):
        await send(handle, CaseWorkflow.comment, c.CommentOnCase(actor=supervisor, text=TEXT, reason=REASON))
    await driver.settle()
    view = await driver.view(handle)
    assert view.runs >= 2 and view.seq == 3 + COMMENTS

    timeline = await handle.query(CaseWorkflow.timeline, TimelineQuery(limit=1000))
    assert len(timeline.model_dump_json().encode()) < 1_000_000
    assert [entry.seq for entry in timeline.entries] == list(range(1, view.seq + 1))
    last = timeline.entries[-1]
    assert last.note is not None and len(last.note) == 200 and last.text_length == 6000

    trail = await driver.audit(handle.id)
    assert len(trail) == view.seq
    # The audit row holds reason and text as the workflow had them; its column takes 4000 characters (AuditEntry).
    assert trail[-1].reason == f"{REASON} — {TEXT}"[:4000]
    await terminate(handle)
    assert (await handle.result()).stage is CaseStage.TERMINATED
