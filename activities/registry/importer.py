"""Moved to `services.registry.importer`; tests/handoff still imports the importer from here until it moves too."""

from services.registry.importer import import_registry

__all__ = ["import_registry"]
