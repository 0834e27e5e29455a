"""Pydantic models: every workflow, update, query and activity input and output, enums, search-attribute keys."""
