"""Renders the SDK's API reference (docs/sdk.md) from its docstrings and signatures.

python -m caseloop.sdk.reference > docs/sdk.md     # regenerate
python -m caseloop.sdk.reference --check           # exit 1 when docs/sdk.md is stale (a test runs this too)
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

from pydantic import BaseModel

from caseloop import errors, sync
from caseloop.sdk import cases, client, handoffs, summaries, transport
from caseloop.sdk.cases import CaseHandle
from caseloop.sdk.client import CaseClient
from caseloop.sdk.handoffs import HandoffHandle
from caseloop.sdk.summaries import CaseSummary, HandoffSummary

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"
WIDTH = 100

PREAMBLE = """\
# caseloop SDK reference

Generated from the docstrings by `python -m caseloop.sdk.reference > docs/sdk.md`; do not edit by hand.
The README's section "Driving caseloop from a department system" shows it at work.

The SDK is a client of the front door, the caseloop API (`docs/openapi.json`): every call is one HTTPS request
with the department's credential. It needs no Temporal connection, no payload key and no store.

```python
from caseloop import CaseClient                  # async
from caseloop.sync import CaseClient             # the same, blocking
from caseloop.errors import InputRejected, Forbidden, NotFound, Unreachable, CommandTimeout
```

The models the methods take and answer live in `schemas/`: the case's commands and `CommandResult` in
`schemas/case/commands.py`, `CaseView` and `Timeline` in `schemas/case/views.py`, the hand-off's events,
commands and `HandoffView` in `schemas/handoff.py`, the inbox's `InboxPage` and `InboxItem` in
`schemas/delivery.py`, the list summaries in `schemas/api.py`; a joint application's `JointStart`, `JointOpened` and
`JointView` in `schemas/joint/run.py`, a scheduled delivery's `DeliveryDayView` in `schemas/scheduled.py`, a
verification call's `VerificationAsk`, `Purpose` and `VerificationResult` in `schemas/verification.py`.
"""


def render() -> str:
    parts = [PREAMBLE]
    parts.append(_module("The client", client))
    parts.append(_class(CaseClient))
    parts.append(_module("Cases", cases))
    parts.append(_class(CaseHandle))
    parts.append(_module("Hand-offs", handoffs))
    parts.append(_class(HandoffHandle))
    parts.append(_module("Finding cases and hand-offs", summaries))
    parts.append(_model(CaseSummary))
    parts.append(_model(HandoffSummary))
    parts.append(_module("Errors", errors))
    parts.append(_module("How the door's answers become errors", transport))
    parts += [_error(kind) for kind in _errors()]
    parts.append(_module("The blocking facade", sync))
    return "\n".join(parts).rstrip() + "\n"


def _module(title: str, module: object) -> str:
    return f"## {title}\n\n{inspect.getdoc(module)}\n"


def _class(kind: type) -> str:
    lines = [f"### `{kind.__name__}`\n", f"{inspect.getdoc(kind)}\n"]
    for name, member in _public_members(kind):
        lines.append(f"#### `{kind.__name__}.{name}`\n")
        lines.append(f"```python\n{_signature(name, member)}\n```\n")
        doc = inspect.getdoc(member)
        if doc:
            lines.append(f"{doc}\n")
    return "\n".join(lines)


def _public_members(kind: type) -> list[tuple[str, object]]:
    """Public methods and properties in the order the class defines them."""
    members: list[tuple[str, object]] = []
    for name, attribute in vars(kind).items():
        if name.startswith("_"):
            continue
        member = attribute.__func__ if isinstance(attribute, classmethod | staticmethod) else attribute
        if inspect.isfunction(member) or isinstance(member, property):
            members.append((name, member))
    return members


def _signature(name: str, member: object) -> str:
    if isinstance(member, property):
        annotation = inspect.signature(member.fget).return_annotation if member.fget else ""
        return f"{name}: {_type_name(annotation)}  # property"
    assert callable(member)
    signature = inspect.signature(member)
    prefix = "async def" if inspect.iscoroutinefunction(member) else "def"
    parameters = [_parameter(p) for p in signature.parameters.values() if p.name not in ("self", "cls")]
    parameters = _with_markers(signature, parameters)
    empty = signature.return_annotation is inspect.Signature.empty
    returns = "" if empty else f" -> {_type_name(signature.return_annotation)}"
    one_line = f"{prefix} {name}({', '.join(parameters)}){returns}"
    if len(one_line) <= WIDTH:
        return one_line
    body = "".join(f"    {parameter},\n" for parameter in parameters)
    return f"{prefix} {name}(\n{body}){returns}"


def _parameter(parameter: inspect.Parameter) -> str:
    """`name: annotation = default`, the annotation as written in the source (they are strings here)."""
    text = parameter.name
    if parameter.kind is inspect.Parameter.VAR_KEYWORD:
        text = f"**{text}"
    elif parameter.kind is inspect.Parameter.VAR_POSITIONAL:
        text = f"*{text}"
    if parameter.annotation is not inspect.Parameter.empty:
        text += f": {_type_name(parameter.annotation)}"
    if parameter.default is not inspect.Parameter.empty:
        text += f" = {parameter.default!r}"
    return text


def _type_name(annotation: object) -> str:
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type):
        return annotation.__name__
    return re.sub(r"\b(?:[A-Za-z_][A-Za-z0-9_]*\.)+(?=[A-Za-z_])", "", str(annotation))


def _with_markers(signature: inspect.Signature, rendered: list[str]) -> list[str]:
    """`str(Parameter)` leaves out the `/` and `*` separators that `str(Signature)` would add; put them back."""
    kinds = [p.kind for p in signature.parameters.values() if p.name not in ("self", "cls")]
    result: list[str] = []
    starred = False
    for index, (kind, text) in enumerate(zip(kinds, rendered, strict=True)):
        if kind is inspect.Parameter.KEYWORD_ONLY and not starred:
            result.append("*")
            starred = True
        if kind is inspect.Parameter.VAR_POSITIONAL:
            starred = True
        result.append(text)
        following = kinds[index + 1] if index + 1 < len(kinds) else None
        if kind is inspect.Parameter.POSITIONAL_ONLY and following is not inspect.Parameter.POSITIONAL_ONLY:
            result.append("/")
    return result


def _model(model: type[BaseModel]) -> str:
    lines = [f"### `{model.__name__}`\n", f"{inspect.getdoc(model)}\n", "| field | type | meaning |", "|---|---|---|"]
    for name, info in model.model_fields.items():
        annotation = _type_name(info.annotation).replace("|", "\\|")
        lines.append(f"| `{name}` | `{annotation}` | {info.description or ''} |")
    return "\n".join(lines) + "\n"


def _errors() -> list[type[errors.CommandError]]:
    return [
        errors.CommandError,
        errors.InputRejected,
        errors.Forbidden,
        errors.NotFound,
        errors.Unreachable,
        errors.CommandTimeout,
    ]


def _error(kind: type[errors.CommandError]) -> str:
    return f"### `{kind.__name__}` (exit code {kind.exit_code})\n\n{inspect.getdoc(kind)}\n"


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        if DOCUMENT.read_text(encoding="utf-8") != render():
            print(f"{DOCUMENT} is stale: run python -m caseloop.sdk.reference > docs/sdk.md", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
