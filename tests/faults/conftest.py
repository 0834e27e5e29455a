"""Fault test fixtures: the front door's world (tests/door/conftest.py) for the tests that go through it."""

from __future__ import annotations

from tests.door.conftest import door_world

__all__ = ["door_world"]
