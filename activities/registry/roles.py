"""Moved to `services.registry.roles`; activities.handoff still imports the lookup from here until it moves too."""

from services.registry.roles import handoff_coordinator

__all__ = ["handoff_coordinator"]
