"""Scheduled deliveries: what the registry and the legal calendar expect each day, and what each day recorded."""
