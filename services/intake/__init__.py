"""Intake: channel records into cases, and what the requester hears back."""
