"""Case-specific activities: the legal clock and the ledger, composed so one transition costs one call each."""
