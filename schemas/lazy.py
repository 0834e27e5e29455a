"""A package's names imported on first use (a PEP 562 module `__getattr__`): a short command imports only what it
touches, and `from package import Name` works as before."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection, Mapping
from typing import Any


def on_first_use(
    package: str, homes: Mapping[str, str], namespace: dict[str, Any], public: Collection[str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The package's `__getattr__` and `__dir__`. `homes` maps each name to the module that defines it, and a name
    once imported is kept in the package's `namespace`. Any other name is an AttributeError, so that `from package
    import submodule` still imports the submodule. `dir(package)` lists the `public` names too."""

    def __getattr__(name: str) -> object:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *public})

    return __getattr__, __dir__
