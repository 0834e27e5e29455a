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
VERIFICATIONS = Counter(
    "caseloop_verifications_total",
    "Verification call attempts per shared data item, answering system and outcome",
    ["item", "system", "outcome"],
)
SCHEDULED_DELIVERIES = Counter(
    "caseloop_scheduled_deliveries_total",
    "Scheduled delivery days by entry and how they ended (delivered, late, missing, not expected)",
    ["delivery", "outcome"],
)
