"""The hand-off (雙推送雙回路): entity workflow, event intake, batches and the monthly reconciliation."""
