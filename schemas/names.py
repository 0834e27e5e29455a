"""The names Temporal knows our workflows, updates, signals and queries by: one constant each, used in the
decorators (`name=`) and by every caller that starts, signals or updates a workflow without importing its code.

They are the wire: running workflows and committed histories carry them, so a value here never changes; rename
the constant or the method, never the string.
"""

from __future__ import annotations

from typing import Final

# The case.
CASE_WORKFLOW: Final = "Case"
# The case's updates added since the first ones (which are named in place, in workflows/case/workflow.py).
CASE_REVOKE_CARD: Final = "revoke_card"
CASE_REQUEST_JOINT_MEETING: Final = "request_joint_meeting"
CASE_RECORD_MEETING_OUTCOME: Final = "record_meeting_outcome"
# A party checks a fact in another department's system (a verification call) and attaches the outcome.
CASE_VERIFY_FACT: Final = "verify_fact"

# The hand-off and the workflows around it.
HANDOFF_WORKFLOW: Final = "Handoff"
HANDOFF_INTAKE_WORKFLOW: Final = "HandoffIntake"
HANDOFF_BATCH_WORKFLOW: Final = "HandoffBatch"
HANDOFF_WITHDRAWAL_WORKFLOW: Final = "HandoffWithdrawal"
HANDOFF_RECONCILIATION_WORKFLOW: Final = "HandoffReconciliation"

# The hand-off's updates (one per command), its query and its signal.
HANDOFF_CLAIM: Final = "claim"
HANDOFF_RETURN: Final = "return_push"
HANDOFF_REROUTE: Final = "reroute"
HANDOFF_START_ACTING: Final = "start_acting"
HANDOFF_SEND_FEEDBACK: Final = "send_feedback"
HANDOFF_ACKNOWLEDGE: Final = "acknowledge"
HANDOFF_TERMINATE: Final = "terminate"
HANDOFF_VERIFY_FACT: Final = "verify_fact"
HANDOFF_VIEW: Final = "view"
# A loop-1 hand-off learns that a finding about it started a loop-2 hand-off.
HANDOFF_LOOP_TWO_STARTED: Final = "loop_two_started"

# Departments working for each other: verification calls, scheduled deliveries, joint handling.
VERIFICATION_WORKFLOW: Final = "Verification"
DELIVERY_DAY_WORKFLOW: Final = "DeliveryDay"
DELIVERY_OPENING_WORKFLOW: Final = "DeliveryOpening"
DELIVERY_DELIVER: Final = "deliver"
DELIVERY_REJECT: Final = "reject_delivery"
DELIVERY_VIEW: Final = "delivery_view"
JOINT_WORKFLOW: Final = "Joint"
JOINT_COMPLETE_STEP: Final = "complete_step"
# A joint application's or a delivery day's ladder order answered by its department.
ANSWER_LADDER_ORDER: Final = "answer_supervision_order"
JOINT_VIEW: Final = "joint_view"
