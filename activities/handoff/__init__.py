"""The hand-off's activities: event intake (matching and starting), withdrawal at the source, the store activity
that writes a transition's records with their metrics, threads, and the monthly reconciliation."""
