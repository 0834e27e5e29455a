"""Fault tests: kills, outages and hostile input, each bounded in count and time."""
