"""Cases and hand-offs as the door lists them (the models of `schemas.api`), and how a list filter is given."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.api import CaseSummary, HandoffSummary

# A keyword filter: one value, or a sequence of them meaning any of them. Enums are strings too.
Many = str | Sequence[str]

__all__ = ["CaseSummary", "HandoffSummary", "Many"]
