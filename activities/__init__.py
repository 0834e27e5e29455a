"""Every side effect: the store, department gateway, notifications, calendar and deadline computation."""
