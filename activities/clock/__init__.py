"""The legal clock's activities: thin adapters of `services.clock` that workflows call by name."""
