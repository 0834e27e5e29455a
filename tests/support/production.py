"""Settings production accepts, for the tests that take one protection away and see production refuse to start."""

from __future__ import annotations

import base64
import os
from typing import Any


def production_settings() -> dict[str, Any]:
    """Every protection production demands, each given a value of its own."""
    return {
        "environment": "production",
        "store_url": "postgresql+asyncpg://db/caseloop",
        "log_format": "json",
        "api_key_peppers": "p0:" + base64.b64encode(os.urandom(32)).decode(),
        "encryption_key": base64.b64encode(os.urandom(32)).decode(),
        "temporal_api_key": "a-token-of-the-city-idp",
        "sms_provider": "http",
        "sms_url": "https://sms.example/send",
    }
