"""Withdrawal at the source: the case that started hand-offs was withdrawn (or the entity deregistered), so every
hand-off it started is terminated in the originating department's name."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities.store.handoff_events import HandoffEventRepository
from schemas import names
from schemas.actors import Actor, Role
from schemas.handoff import (
    HandoffView,
    Rejection,
    SourceWithdrawal,
    Terminate,
    WithdrawalReport,
)

# The hand-off finished before the withdrawal reached it.
_CLOSED = (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION)


class HandoffWithdrawalActivities:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession], client: Client | None = None) -> None:
        """`client` defaults to the worker's own (activity.client())."""
        self._sessions = session_factory
        self._client = client

    @activity.defn(name="handoff_withdraw_source")
    async def withdraw_source(self, withdrawal: SourceWithdrawal) -> WithdrawalReport:
        """Idempotent: a retried attempt sends the same update IDs, so it is answered, not applied again."""
        async with self._sessions() as session:
            stored = await HandoffEventRepository(session).get(withdrawal.key)
        if stored is None:
            rejection = Rejection(
                rule="withdrawal.unknown-event",
                field="reference",
                message=f"{withdrawal.source_department} never reported "
                f"{withdrawal.event.value} {withdrawal.reference}: there is nothing to withdraw",
            )
            raise rejection.error()
        client = self._client or activity.client()
        # The door names who withdrew it (the credential, an operator's reason); every termination records it.
        reporter = withdrawal.reported_by or Actor(department=withdrawal.source_department, role=Role.ORIGINATOR)
        command = Terminate(actor=reporter, reason=withdrawal.reason)
        report = WithdrawalReport(event_key=withdrawal.key)
        # Stable across this run's retries, new for a later withdrawal: that one finds the hand-offs closed.
        update_id = f"withdrawal:{activity.info().workflow_run_id}"
        for row in stored.handoffs:
            handle = client.get_workflow_handle(row.handoff_id)
            try:
                await handle.execute_update(names.HANDOFF_TERMINATE, command, id=update_id, result_type=HandoffView)
                report.terminated.append(row.handoff_id)
            except WorkflowUpdateFailedError:
                report.already_closed.append(row.handoff_id)  # its loop closed or it was terminated before
            except RPCError as error:
                if error.status not in _CLOSED:
                    raise
                report.already_closed.append(row.handoff_id)
        activity.logger.info(
            "source withdrawn",
            extra={"terminated": len(report.terminated), "already_closed": len(report.already_closed)},
        )
        return report
