"""Configures structlog once for the process; stdlib records (Temporal's workflow and activity loggers
included) come out through the same renderer with their `extra` fields as structured keys."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError, FailureError

from workers.settings import LogFormat

_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.ExtraAdder(),
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def _flatten_temporal(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Temporal puts its context under `temporal_workflow` / `temporal_activity`; lift the useful ids."""
    for key in ("temporal_workflow", "temporal_activity"):
        context = event.pop(key, None)
        if isinstance(context, dict):
            for name in ("workflow_id", "run_id", "workflow_type", "activity_type", "activity_id", "attempt"):
                if name in context and name not in event:
                    event[name] = context[name]
    return event


# What Temporal's worker tags its "Completing activity as failed" record with.
_ACTIVITY_FAILURE = "ActivityFailure"
_SHORT_MESSAGE = 200


class ActivityAttemptDigest(logging.Filter):
    """Temporal's worker logs every failed activity attempt with its traceback: a store outage of half a minute
    wrote hundreds of the same one. The first attempt keeps its traceback; every attempt becomes one line naming
    the activity and attempt (Temporal's context), the error class and the first line of its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "__temporal_error_identifier", None) != _ACTIVITY_FAILURE:
            return True
        error = record.exc_info[1] if record.exc_info else None
        record.msg, record.args = "activity attempt failed", ()
        record.error = _error_class(error)
        record.error_message = _first_line(error)
        context = getattr(record, "temporal_activity", None)
        attempt = context.get("attempt") if isinstance(context, dict) else None
        if isinstance(attempt, int) and attempt > 1:
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def _error_class(error: BaseException | None) -> str | None:
    if isinstance(error, ApplicationError) and error.type:
        return error.type
    return type(error).__name__ if error is not None else None


def _first_line(error: BaseException | None) -> str | None:
    if error is None:
        return None
    text = error.message if isinstance(error, FailureError) else str(error)
    line = text.strip().split("\n", 1)[0]
    return line if len(line) <= _SHORT_MESSAGE else line[: _SHORT_MESSAGE - 1] + "…"


def configure_logging(log_format: LogFormat = LogFormat.CONSOLE, level: str = "INFO") -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format is LogFormat.JSON
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _flatten_temporal,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    # Temporal's loggers also append their context to the message; the structured fields carry it already.
    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False
    # On the logger, not the handler: every handler sees the digest, a test's capturing one too.
    if not any(isinstance(existing, ActivityAttemptDigest) for existing in activity.logger.logger.filters):
        activity.logger.logger.addFilter(ActivityAttemptDigest())
