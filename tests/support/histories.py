"""Recorded histories are committed: they must not carry the recording machine's paths (failure stack traces do)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
_SITE_PACKAGES = re.compile(r"[^\"\s]*?/site-packages/")


def without_machine_paths(text: str) -> str:
    """Site-packages and checkout prefixes removed, so a stack trace reads `temporalio/…`, `activities/…`."""
    text = _SITE_PACKAGES.sub("", text)
    text = text.replace(f"{_ROOT}/", "").replace(f"{Path(sys.prefix)}/", "")
    return text
