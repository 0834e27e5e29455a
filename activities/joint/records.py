"""The joint-handling activities: plan an application from the registry and the legal clock, record each transition."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notify.providers import SmsMessage, SmsProvider, mask_phone
from activities.store.collaboration import CollaborationRepository, JointHandling, joint_status_code_of
from schemas.clock import ClockSpec
from schemas.delivery import SmsResult
from schemas.joint.definition import JointMatter
from schemas.joint.run import ApplicantNotice, JointPlan, JointSnapshot, JointStart
from services.clock.service import ClockService
from services.intake.codes import new_code


class JointActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._clock = ClockService(sessions)

    @activity.defn(name="plan_joint")
    async def plan_joint(self, start: JointStart) -> JointPlan:
        """The matter as the registry defines it now, and the whole application's deadline from its receipt."""
        async with self._sessions() as session:
            row = await CollaborationRepository(session).joint_matter(start.matter_code)
        if row is None or not row.active:
            raise ApplicationError(
                f"joint matter {start.matter_code!r} does not exist in the registry",
                type="NotFound",
                non_retryable=True,
            )
        matter = JointMatter.model_validate(row.definition)
        if start.received_at is None:
            raise ApplicationError("plan_joint needs received_at", type="ValidationFailed", non_retryable=True)
        deadline = await self._clock.deadline(
            ClockSpec(started_at=start.received_at, limit=float(Decimal(matter.limit.amount)), unit=matter.limit.unit)
        )
        return JointPlan(matter=matter, due_at=deadline.due_at, estimated=deadline.estimated)

    @activity.defn(name="record_joint")
    async def record_joint(self, snapshot: JointSnapshot) -> bool:
        view = snapshot.view
        row = JointHandling(
            joint_id=view.joint_id,
            matter_code=view.matter_code,
            status=view.status.value,
            due_at=view.due_at,
            steps={"steps": [step.model_dump(mode="json") for step in view.steps], "late": view.late},
            version=view.version,
            updated_at=snapshot.written_at,
        )
        async with self._sessions.begin() as session:
            return await CollaborationRepository(session).write_versioned(row)


class ApplicantActivities:
    """The applicant's progress SMS of a "one thing", through the same provider as the intake requesters' notices."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], provider: SmsProvider) -> None:
        self._sessions = sessions
        self._provider = provider

    @activity.defn(name="text_applicant")
    async def text_applicant(self, notice: ApplicantNotice) -> SmsResult:
        variables = dict(notice.variables)
        if notice.with_status_code:
            # The opening SMS gives the applicant the code for the status lookup, as an intake launch SMS does.
            variables["verification_code"] = await joint_status_code_of(
                self._sessions, notice.variables["joint_id"], new_code
            )
        await self._provider.send(
            SmsMessage(
                idempotency_key=notice.notification_id,
                phones=(notice.mobile,),
                template_id=notice.template_id,
                variables=variables,
            )
        )
        activity.logger.info(
            "applicant told", extra={"sms_id": notice.notification_id, "to": mask_phone(notice.mobile)}
        )
        return SmsResult(
            notification_id=notice.notification_id, provider=self._provider.name, recipients=1, roles=["applicant"]
        )
