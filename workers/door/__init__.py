"""The front door: the authenticated HTTP API department systems drive caseloop through."""
