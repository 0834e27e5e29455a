"""Hand-off activities: event intake (matching and starting), threads, and the monthly reconciliation."""
