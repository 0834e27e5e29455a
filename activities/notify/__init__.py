"""Notifications to people: SMS to the roster persons of departments, through a configured provider."""
