"""Department webhook secrets: the registry names them, the worker's environment holds them."""

from __future__ import annotations

import os
import re
from collections.abc import Callable

SECRET_ENV_PREFIX = "CASELOOP_SECRET_"

# Given a secret's name from the registry, the secret itself, or None when the process does not hold it.
SecretResolver = Callable[[str], bytes | None]


def secret_env_name(secret_ref: str) -> str:
    """`payments-key` → `CASELOOP_SECRET_PAYMENTS_KEY`."""
    return SECRET_ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", secret_ref.upper())


def environment_secret(secret_ref: str) -> bytes | None:
    value = os.environ.get(secret_env_name(secret_ref))
    return value.encode() if value else None
