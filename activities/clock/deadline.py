"""Moved to `services.clock.deadline`; activities.handoff still imports the clock from here until it moves too."""

from services.clock.deadline import LegalClock

__all__ = ["LegalClock"]
