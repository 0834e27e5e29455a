"""Moved to `services.clock.errors`; activities.handoff still imports the error from here until it moves too."""

from services.clock.errors import ClockInputError

__all__ = ["ClockInputError"]
