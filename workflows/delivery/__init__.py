"""Scheduled deliveries with a deadline: one workflow per registry entry and working day, opened by a schedule."""
