"""Joint handling ("one thing"): one application across several departments' steps."""
