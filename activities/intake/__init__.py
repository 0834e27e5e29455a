"""Intake activities: telling a channel case's requester."""
