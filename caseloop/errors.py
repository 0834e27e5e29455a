"""The errors of the SDK and the CLI: one hierarchy, each with the exit code the CLI returns for it.

Exit codes scripts can rely on: 0 done, 1 failed, 2 rejected by a rule, 3 not found, 4 unreachable,
5 timed out (the command may or may not have been applied: retry it with the same command id), 6 forbidden (the
credential is missing, refused, or its department may not do this).
"""

from __future__ import annotations

EXIT_FAILED = 1
EXIT_REJECTED = 2
EXIT_NOT_FOUND = 3
EXIT_UNREACHABLE = 4
EXIT_TIMEOUT = 5
EXIT_FORBIDDEN = 6


class CommandError(Exception):
    """Base of every caseloop error."""

    exit_code = EXIT_FAILED


class InputRejected(CommandError):
    """A rule rejected the command or its input; nothing was changed.

    `rule` names the rule (e.g. "return.legal-basis"), `field` the input field it concerns, when there is one.
    """

    exit_code = EXIT_REJECTED

    def __init__(self, message: str, *, rule: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.field = field


class NotFound(CommandError):
    """The case, hand-off, department or message does not exist."""

    exit_code = EXIT_NOT_FOUND


class Forbidden(CommandError):
    """The front door refused the credential (401: missing, unknown, revoked, expired) or what its department
    asked for (403: a role it does not hold on this case, another department's name, an operator's privilege).
    Nothing was changed.

    `rule` and `field` name the door's reason when it gives one (e.g. "verification.grant" and "item").
    """

    exit_code = EXIT_FORBIDDEN

    def __init__(self, message: str, *, rule: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.field = field


class Unreachable(CommandError):
    """The front door (or, for trusted tools, Temporal or the store) cannot be reached; the message names it."""

    exit_code = EXIT_UNREACHABLE


class CommandTimeout(CommandError):
    """No answer in time. Retrying with the same command id is safe: it is applied at most once.

    `command_id` is the id to retry with, when the call was a command. The front door's 504 and a client-side
    timeout raise it; so does a command whose first attempt is still in flight (409) when `within` runs out.
    """

    exit_code = EXIT_TIMEOUT

    def __init__(self, message: str, *, command_id: str | None = None) -> None:
        super().__init__(message)
        self.command_id = command_id
