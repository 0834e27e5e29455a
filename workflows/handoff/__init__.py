"""The hand-off (雙推送雙回路), built as the case is (`workflows/case/`): every transition of either loop is found
in one place.

- `machine`: who may send which command in which stage (`check`), and what each command, push outcome, the
  opening and the closing do, as pure functions filling a `Change`;
- `ladder`: what each fired SLA rung does (reminders, colours, cards, the supervision order and the ladder after
  it, the automatic acknowledgement, overdue pushes, measures and orders);
- `effects`: the `Change` the rules fill and the ordered `Effects` it holds (clocks, audit entries, store writes,
  notices, escalations);
- `records` and `presentation`: what a hand-off writes to the store, and how it shows itself (view, search
  attributes, details, package), as pure functions;
- `entity`: the workflow shell that validates, applies the rules under one lock and carries out their effects;
- `writes`: the store writes a hand-off owes, one store activity per transition, retried while the store is down;
- `intake`, `reconciliation`: the workflows that admit reported events in batches, withdraw hand-offs at the
  source, and reconcile open loops every month.
"""
