"""Monthly and quarterly reports: the assessment, their figures from the store, and their files."""
