"""Errors the CLI turns into exit codes, so scripts can tell a rule from a missing thing from an outage."""

from __future__ import annotations

EXIT_FAILED = 1
EXIT_REJECTED = 2
EXIT_NOT_FOUND = 3
EXIT_UNREACHABLE = 4


class CommandError(Exception):
    exit_code = EXIT_FAILED


class InputRejected(CommandError):
    """Bad input: the message names the field and the rule; nothing was changed."""

    exit_code = EXIT_REJECTED


class NotFound(CommandError):
    exit_code = EXIT_NOT_FOUND


class Unreachable(CommandError):
    exit_code = EXIT_UNREACHABLE
