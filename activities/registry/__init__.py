"""The registry lookups workflows run as activities: thin adapters of `services.registry`."""
