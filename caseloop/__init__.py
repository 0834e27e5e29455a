"""What users touch: the caseloop SDK and the caseloop command line."""
