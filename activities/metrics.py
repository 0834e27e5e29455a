"""Domain metrics (prometheus-client), recorded by activities only: workflow code would double-count on replay."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

COMMANDS = Counter("caseloop_commands_total", "Commands applied to cases and hand-offs", ["workflow", "command"])
CARDS_ISSUED = Counter("caseloop_cards_issued_total", "Yellow and red cards issued", ["department", "colour"])
ESCALATIONS = Counter("caseloop_escalations_total", "Rungs of the escalation ladder reached", ["department", "rung"])
DELIVERIES = Counter(
    "caseloop_deliveries_total", "Pushes to department systems by outcome", ["department", "channel", "outcome"]
)
WEBHOOK_ENDPOINTS_DISABLED = Counter(
    "caseloop_webhook_endpoints_disabled_total",
    "Department webhooks disabled because they answered 410 Gone; their pushes wait in the inbox",
    ["department"],
)
LOOP_SECONDS = Histogram(
    "caseloop_loop_seconds",
    "Time from launch or push to close, per kind",
    ["kind"],
    buckets=(3600, 4 * 3600, 86400, 3 * 86400, 7 * 86400, 15 * 86400, 30 * 86400, 90 * 86400),
)
# Intake channels: records taken in (created, duplicate, rejected, and created-but-unplaced), and what requesters
# were told. Labelled by channel code and event only: never a record number or a contact.
INTAKE_RECORDS = Counter(
    "caseloop_intake_records_total", "Channel records taken in, by outcome", ["channel", "outcome"]
)
REQUESTER_NOTICES = Counter(
    "caseloop_requester_notices_total", "Events a channel case's requester was told of", ["channel", "event", "by"]
)
