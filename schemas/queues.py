"""Task-queue names, shared by workers, the SDK and tests."""

from __future__ import annotations

DEFAULT_TASK_QUEUE = "caseloop"
