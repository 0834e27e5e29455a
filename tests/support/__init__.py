"""Test support: real servers and databases that tests start for themselves."""
