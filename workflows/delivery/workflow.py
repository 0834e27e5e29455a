"""The delivery-day workflow and the daily opening that starts one per registry entry.

The shell of workflows/delivery/rules: it plans the day (an activity reads the registry and the legal calendar),
sleeps to the due time and to the day's close, and takes deliveries and rejections as updates, each checked in the
validator and again under the lock. Each transition is one store write of the day's view; cards and pushes follow.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.clock.activities import ClockActivities
    from activities.gateway.delivery import GatewayActivities
    from activities.ledger import LedgerActivities
    from activities.scheduled.days import ScheduledDeliveryActivities
    from activities.scheduled.pull import DeliveryPullActivities
    from schemas.clock import ClockSpec
    from schemas.ledger import SubjectKind, SupervisionOrderTransition
    from schemas.names import (
        ANSWER_LADDER_ORDER,
        DELIVERY_DAY_WORKFLOW,
        DELIVERY_DELIVER,
        DELIVERY_OPENING_WORKFLOW,
        DELIVERY_REJECT,
        DELIVERY_VIEW,
    )
    from schemas.orders import AnswerLadderOrder, LadderOrder
    from schemas.rejections import Rejected
    from schemas.scheduled import (
        DeliverCommand,
        DeliveryDayPlan,
        DeliveryDayRun,
        DeliveryDaySnapshot,
        DeliveryDayView,
        DeliveryOpened,
        DeliveryOpening,
        DeliveryPull,
        DeliveryStatus,
        RejectDeliveryCommand,
    )
    from workflows import ladder_orders, policies
    from workflows.delivery import rules

# Days that began before a missing day climbed the ladder replay as they ran: the circular push alone.
LADDER_PATCH = "delivery-day-climbs-the-ladder"
# And before the supervision-order rung issued the deliverer a real order, answered by a deadline on the legal clock.
ORDER_PATCH = "delivery-day-orders-its-deliverer"

# Asia/Shanghai keeps no daylight saving: its date is UTC+8's.
SHANGHAI_OFFSET = timedelta(hours=8)


def local_today() -> date:
    return (workflow.now() + SHANGHAI_OFFSET).date()


@workflow.defn(name=DELIVERY_DAY_WORKFLOW)
class DeliveryDayWorkflow:
    @workflow.init
    def __init__(self, run: DeliveryDayRun) -> None:
        self._plan: DeliveryDayPlan | None = None
        self._view: DeliveryDayView | None = None
        self._seen: set[str] = set()
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, run: DeliveryDayRun) -> DeliveryDayView:
        day = run.day or local_today()
        plan = await workflow.execute_activity_method(
            ScheduledDeliveryActivities.plan_delivery_day,
            DeliveryDayRun(delivery_code=run.delivery_code, day=day),
            **policies.STORE,
        )
        async with self._lock:
            self._plan, self._view = plan, rules.opened(plan)
            await self._write(self._view)
        if plan.expected and plan.pull_at is not None:
            await self._sleep_until(plan.pull_at)
            await self._pull(plan)
        if plan.expected:
            await self._sleep_until(plan.due_at)
            async with self._lock:
                await self._apply(*rules.due_passed(self._current, workflow.now()))
            await self._sleep_until(plan.missing_at)
            async with self._lock:
                climbing = self._current.status in rules.OPEN and workflow.patched(LADDER_PATCH)
                closed = rules.day_closed(
                    self._current, workflow.now(), climbing=climbing, missing_before=plan.missing_before
                )
                await self._apply(*closed)
            if climbing and self._current.status is DeliveryStatus.MISSING and workflow.patched(ORDER_PATCH):
                await self._order_the_deliverer(plan)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._current

    @property
    def _current(self) -> DeliveryDayView:
        assert self._view is not None
        return self._view

    @workflow.query(name=DELIVERY_VIEW)
    def view(self) -> DeliveryDayView | None:
        return self._view

    @workflow.update(name=DELIVERY_DELIVER)
    async def deliver(self, command: DeliverCommand) -> DeliveryDayView:
        await workflow.wait_condition(lambda: self._plan is not None)
        async with self._lock:
            if command.delivery_id in self._seen:
                return self._current
            assert self._plan is not None
            try:
                view, effects = rules.deliver(self._current, self._plan, command, workflow.now())
            except Rejected as rejected:
                raise rejected.rejection.error() from None
            self._seen.add(command.delivery_id)
            await self._apply(view, effects)
            return self._current

    @deliver.validator
    def _check_deliver(self, command: DeliverCommand) -> None:
        if self._plan is None or self._view is None or command.delivery_id in self._seen:
            return
        try:
            rules.check_deliver(self._view, self._plan, command)
        except Rejected as rejected:
            raise rejected.rejection.error() from None

    @workflow.update(name=DELIVERY_REJECT)
    async def reject_delivery(self, command: RejectDeliveryCommand) -> DeliveryDayView:
        await workflow.wait_condition(lambda: self._plan is not None)
        async with self._lock:
            if command.rejection_id in self._seen:
                return self._current
            try:
                view, effects = rules.reject(self._current, command, workflow.now())
            except Rejected as rejected:
                raise rejected.rejection.error() from None
            self._seen.add(command.rejection_id)
            await self._apply(view, effects)
            return self._current

    @reject_delivery.validator
    def _check_reject(self, command: RejectDeliveryCommand) -> None:
        if self._view is None or command.rejection_id in self._seen:
            return
        try:
            rules.check_reject(self._view, command)
        except Rejected as rejected:
            raise rejected.rejection.error() from None

    @workflow.update(name=ANSWER_LADDER_ORDER)
    async def answer_order(self, command: AnswerLadderOrder) -> DeliveryDayView:
        """The deliverer answers the supervision order a missing day issued it (ORDER_PATCH)."""
        await workflow.wait_condition(lambda: self._plan is not None)
        async with self._lock:
            if command.command_id in self._seen:
                return self._current
            try:
                orders, transition = ladder_orders.answer(self._subject, self._current.orders, command, workflow.now())
            except Rejected as rejected:
                raise rejected.rejection.error() from None
            self._seen.add(command.command_id)
            await self._apply(self._with_orders(orders), rules.DayEffects())
            await self._record_order(transition)
            return self._current

    @answer_order.validator
    def _check_answer(self, command: AnswerLadderOrder) -> None:
        ladder_orders.validate_answer(self._view.orders if self._view is not None else None, self._seen, command)

    @property
    def _subject(self) -> str:
        return rules.day_id(self._current.delivery_code, self._current.day)

    def _with_orders(self, orders: list[LadderOrder]) -> DeliveryDayView:
        return self._current.model_copy(update={"orders": orders, "version": self._current.version + 1})

    async def _order_the_deliverer(self, plan: DeliveryDayPlan) -> None:
        """The missing day's supervision order: issued to the deliverer with the entry's order limit on the legal
        clock; the day stays open for the answer, and an order unanswered at its deadline earns a red card and the
        next rung (ORDER_PATCH)."""
        now, limit = workflow.now(), plan.entry.order_limit
        deadline = await workflow.execute_activity_method(
            ClockActivities.compute_deadline,
            ClockSpec(started_at=now, limit=float(limit.amount), unit=limit.unit),
            **policies.COMPUTE,
        )
        async with self._lock:
            basis, content = rules.order_of(self._current)
            orders, transition = ladder_orders.issue(
                self._subject,
                self._current.orders,
                plan.entry.deliverer,
                rules.STEP,
                basis=basis,
                content=content,
                deadline=deadline.due_at,
                now=workflow.now(),
            )
            await self._apply(self._with_orders(orders), rules.DayEffects())
            await self._record_order(transition)
        try:
            await workflow.wait_condition(
                lambda: not any(order.awaited for order in self._current.orders),
                timeout=deadline.due_at - workflow.now(),
            )
            return
        except TimeoutError:
            pass
        async with self._lock:
            orders, late, cards = ladder_orders.overdue(
                self._subject, SubjectKind.DELIVERY, self._current.orders, workflow.now()
            )
            if not late:
                return
            carded = self._with_orders(orders).model_copy(
                update={"cards": [*self._current.cards, *ladder_orders.kept(cards)]}
            )
            climbed, scores = rules.order_unanswered(carded, workflow.now())
            await self._apply(climbed, rules.DayEffects(cards=cards, scores=scores))

    async def _record_order(self, transition: SupervisionOrderTransition) -> None:
        await workflow.execute_activity_method(LedgerActivities.record_supervision_order, transition, **policies.STORE)

    async def _pull(self, plan: DeliveryDayPlan) -> None:
        """Asks the deliverer's system for the day's records; nothing pulled leaves the day waiting."""
        if self._current.status is not DeliveryStatus.EXPECTED:
            return
        try:
            pulled = await workflow.execute_activity_method(
                DeliveryPullActivities.pull_delivery,
                DeliveryPull(delivery_code=plan.entry.code, day=plan.day),
                **policies.DELIVERY_PULL,
            )
        except ActivityError as error:
            workflow.logger.warning(
                "delivery not pulled", extra={"delivery": plan.entry.code, "error": str(error.cause)}
            )
            return
        if not pulled.records or pulled.digest is None:
            return
        command = DeliverCommand(
            delivery_id=f"pull-{plan.day}",
            department=plan.entry.deliverer,
            records=pulled.records,
            digest=pulled.digest,
        )
        async with self._lock:
            if self._current.status is not DeliveryStatus.EXPECTED:
                return
            try:
                await self._apply(*rules.deliver(self._current, plan, command, workflow.now()))
            except Rejected as rejected:
                workflow.logger.warning("pulled delivery refused", extra={"rule": rejected.rule})

    async def _sleep_until(self, instant: datetime) -> None:
        remaining = instant - workflow.now()
        if remaining > timedelta(0):
            await workflow.sleep(remaining)

    async def _apply(self, view: DeliveryDayView, effects: rules.DayEffects) -> None:
        self._view = view
        if not effects.write:
            return
        await self._write(view)
        for card in effects.cards:
            await workflow.execute_activity_method(LedgerActivities.record_card, card, **policies.STORE)
        for score in effects.scores:
            await workflow.execute_activity_method(LedgerActivities.record_score_event, score, **policies.STORE)
        for push in effects.pushes:
            try:
                await workflow.execute_activity_method(
                    GatewayActivities.deliver_push, push, **policies.SCHEDULED_DELIVERY_PUSH
                )
            except ActivityError:
                workflow.logger.warning("push not delivered", extra={"push_id": push.push_id})

    async def _write(self, view: DeliveryDayView) -> None:
        await workflow.execute_activity_method(
            ScheduledDeliveryActivities.record_delivery_day,
            DeliveryDaySnapshot(view=view, written_at=workflow.now()),
            **policies.STORE,
        )


@workflow.defn(name=DELIVERY_OPENING_WORKFLOW)
class DeliveryOpeningWorkflow:
    """The daily schedule's run: one delivery-day workflow per active entry, each running on its own."""

    @workflow.run
    async def run(self, opening: DeliveryOpening) -> DeliveryOpened:
        day = opening.day or local_today()
        return await workflow.execute_activity_method(
            ScheduledDeliveryActivities.open_delivery_days, DeliveryOpening(day=day), **policies.STORE
        )
