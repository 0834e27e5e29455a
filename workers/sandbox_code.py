"""The compiled code of the sandboxed workflow modules, kept for the worker's life.

The sandbox runs a workflow class's module again for every new workflow instance (each case, each hand-off). Python
normally reads that module's compiled code from `__pycache__`; where no bytecode is written (`PYTHONDONTWRITEBYTECODE`,
a read-only install) it compiles the source every time: `workflows/case/workflow.py` took about 6 % of the worker's
busy time in the lifecycle benchmark, once per case (bench/README.md). This finder hands the sandbox's importer a
loader that compiles each such module once per process and reuses the code object; the module body still runs afresh
in each sandbox, so nothing is shared between workflow instances but immutable code. A changed file (its mtime) is
compiled again.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Sequence
from types import CodeType, ModuleType

# The packages whose modules the sandbox imports per instance (workflow classes and what they import unshared).
PACKAGES = ("workflows",)


class _CachedSourceLoader(importlib.machinery.SourceFileLoader):
    """A source loader whose code objects outlive the import: one compile per file and mtime per process."""

    codes: dict[tuple[str, int], CodeType] = {}

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        key = (path, os.stat(path).st_mtime_ns)
        code = self.codes.get(key)
        if code is None:
            code = super().get_code(fullname)
            assert code is not None  # a source file always compiles to code or raises
            self.codes[key] = code
        return code


class CompiledCodeFinder(importlib.abc.MetaPathFinder):
    """Finds our workflow packages' source modules as the path finder does, with the caching loader."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in PACKAGES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or type(spec.loader) is not importlib.machinery.SourceFileLoader or spec.origin is None:
            return spec
        spec.loader = _CachedSourceLoader(fullname, spec.origin)
        return spec


def keep_compiled_workflow_code() -> None:
    """Installs the finder once per process (the worker's runner, the tests' workers and replayers)."""
    if not any(isinstance(finder, CompiledCodeFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, CompiledCodeFinder())
