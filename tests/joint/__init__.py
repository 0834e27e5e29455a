"""Departments working for each other: verification calls, scheduled deliveries, joint handling."""
