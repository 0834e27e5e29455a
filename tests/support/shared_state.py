"""What the workflow modules hold, to show that no workflow instance changed it (tests/*/test_unsandboxed.py).

Unsandboxed, every workflow instance of a worker shares these modules; in the sandbox each instance ran them afresh.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

MUTABLE = (dict, list, set, bytearray)

Held = dict[str, dict[str, tuple[int, Any]]]


def held_by_workflow_modules() -> Held:
    """Each loaded workflow module's globals: the object each name is bound to, and a copy of each mutable table."""
    return {
        name: {
            key: (id(value), copy.deepcopy(value) if isinstance(value, MUTABLE) else None)
            for key, value in vars(module).items()
            if not key.startswith("__")
        }
        for name, module in list(sys.modules.items())
        if name.partition(".")[0] == "workflows" and module is not None
    }


def changed_since(before: Held) -> set[str]:
    """The module names whose binding or table is no longer what `before` saw."""
    after = held_by_workflow_modules()
    return {
        f"{module}.{name}"
        for module, names in before.items()
        for name, held in names.items()
        if after.get(module, {}).get(name) != held
    }
