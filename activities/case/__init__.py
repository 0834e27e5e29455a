"""Case-specific activities: the clock and ledger services, composed so one transition costs one call each."""
