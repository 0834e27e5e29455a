"""The errors both transports raise for the same reasons, worded once: pydantic's first problem, a rule's
rejection (a registry's too), and a call that got no answer in time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError

from caseloop.errors import CommandTimeout, InputRejected

if TYPE_CHECKING:
    from schemas.rejections import Rejection


def invalid(error: ValidationError, *, within: str | None = None) -> InputRejected:
    """The first problem pydantic found, as a rejection naming the field (inside `within`) and pydantic's rule."""
    problems = error.errors()
    first = problems[0]
    parts = [within] if within else []
    parts += [str(part) for part in first["loc"]]
    field = ".".join(parts) or None
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    message = f"{field}: {first['msg']}{more}" if field else f"{first['msg']}{more}"
    return InputRejected(message, rule=first["type"], field=field)


def rejected(message: str, rule: str | None, field: str | None) -> InputRejected:
    """A rule's rejection; the message ends with the rule and the field, as scripts and logs need them. Workflows
    and activities send the reason in words alone (`schemas.rejections.Rejection`); the door's problem detail is
    the text of an `InputRejected` made here, which ends with them already."""
    named = ", ".join(part for part in (f"rule {rule}" if rule else "", f"field {field}" if field else "") if part)
    if not named or message.endswith(f"({named})"):
        return InputRejected(message, rule=rule, field=field)
    return InputRejected(f"{message} ({named})", rule=rule, field=field)


def refusal(subject: str, rejection: Rejection) -> InputRejected:
    """A case, a hand-off or the registry refused a command, an event or a withdrawal about `subject`; nothing was
    changed."""
    return rejected(f"{subject}: {rejection.message}", rejection.rule, rejection.field)


def timed_out(subject: str, command_id: str | None, seconds: float | None) -> CommandTimeout:
    """No answer about `subject` within `seconds`; a command's names the id that applies it at most once."""
    waited = f" within {seconds:g}s" if seconds is not None else ""
    if command_id is None:
        return CommandTimeout(f"{subject}: no answer{waited}")
    return CommandTimeout(
        f"{subject}: no answer{waited}; the command may or may not be applied: retry it with "
        f"command id {command_id}, which applies it at most once",
        command_id=command_id,
    )
