"""The store: SQLAlchemy models, repositories and migrations for what lives beside Temporal's history."""
