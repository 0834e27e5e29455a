"""Deterministic orchestration only: workflows import schemas and activity references, never I/O."""
