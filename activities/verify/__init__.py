"""Verification calls to the systems of other departments."""
