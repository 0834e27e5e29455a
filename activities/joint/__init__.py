"""Joint handling: plan an application from the registry, record its transitions."""
