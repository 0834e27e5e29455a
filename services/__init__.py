"""Domain services: the legal clock, the registry and the ledger, as plain classes and functions.

They take their dependencies (the store's session factory, settings) from whoever builds them and import nothing of
Temporal, so the activities (thin adapters that translate `services.errors` into Temporal's ApplicationError), the
CLI and the front door all call the same code.
"""
