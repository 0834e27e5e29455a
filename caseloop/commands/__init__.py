"""CLI command groups; each module exposes `register(subparsers)` and is listed in caseloop.cli.COMMAND_MODULES."""
