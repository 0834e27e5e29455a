"""Command models as command-line flags: one flag per field, values from flags or a JSON/YAML file (flags win);
and how the case, hand-off and inbox verbs reach the front door.

The flags are derived from the models in `schemas/`, so a field added there is a flag here without more code.
Scalars are given as text and validated by the model; limits as `<amount> <unit>`; yes/no fields as
`--field/--no-field`; lists by repeating the flag; structured fields (findings, details) as JSON.

The door is at `CASELOOP_API_URL` (default: the embedded stack's, http://127.0.0.1:8080, on `CASELOOP_API_PORT`).
The credential is `--api-key-file FILE`, or `--as-department DEPT` for the development key `caseloop up` wrote
for DEPT into `<data_dir>/credentials.json` (`operator` for its operator key), or `CASELOOP_API_KEY`.
"""

from __future__ import annotations

import argparse
import json
import os
import types
import typing
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from caseloop.commands.bounds import check_values, read_text
from caseloop.errors import Forbidden, InputRejected
from schemas.registry import Limit

if TYPE_CHECKING:  # the SDK and the settings are imported when a command runs, not while the CLI builds its parser
    import yaml

    from caseloop.sdk.client import CaseClient

# Where `caseloop up` writes the development keys, inside the data directory: department code → API key.
DEVELOPMENT_CREDENTIALS = "credentials.json"

# Fields the commands name themselves: the actor comes from --as.
SKIPPED = frozenset({"actor"})


def add_door_flags(parser: argparse.ArgumentParser) -> None:
    """The flags that say which door to ask and with which credential."""
    parser.add_argument("--api-url", metavar="URL", help="the caseloop API (default: CASELOOP_API_URL or the stack's)")
    credential = parser.add_mutually_exclusive_group()
    credential.add_argument("--api-key-file", metavar="FILE", help="read the API key (or JWT) from this file")
    credential.add_argument(
        "--as-department",
        metavar="DEPT",
        help="use the development key `caseloop up` issued for DEPT (embedded stack only; `operator` for its "
        "operator key)",
    )


def door_url(args: argparse.Namespace) -> str:
    """The door's URL: --api-url, else the settings'; an http(s) URL with a host, or rejected."""
    from caseloop.sdk.transport import redacted

    url: str | None = getattr(args, "api_url", None)
    if not url:  # the settings only when asked: reading them imports the codec's keyring and the Temporal SDK
        from workers.settings import get_settings

        settings = get_settings()
        url = settings.api_url or f"http://{settings.bind_host}:{settings.api_port}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputRejected(
            f"--api-url: {redacted(url)!r} is not an http:// or https:// URL with a host",
            rule="api_url.format",
            field="api_url",
        )
    return url


def api_key(args: argparse.Namespace) -> str:
    """The credential the flags name, else CASELOOP_API_KEY; never printed."""
    file: str | None = getattr(args, "api_key_file", None)
    if file is not None:
        try:
            return read_text(file, "--api-key-file").strip()
        except OSError as error:
            raise Forbidden(f"--api-key-file: cannot read {file}: {error.strerror}") from None
    department: str | None = getattr(args, "as_department", None)
    if department is not None:
        return development_key(department)
    key = os.environ.get("CASELOOP_API_KEY")
    if not key:
        raise Forbidden(
            "no credential: give --api-key-file FILE, --as-department DEPT (embedded stack) or set CASELOOP_API_KEY"
        )
    return key


def development_keys() -> dict[str, str]:
    """The development keys of the embedded stack's data directory, by department code."""
    from workers.settings import get_settings

    path = get_settings().data_dir / DEVELOPMENT_CREDENTIALS
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Forbidden(f"no development credentials at {path}: `caseloop up` writes them on a fresh store") from None
    except (OSError, ValueError) as error:
        raise Forbidden(f"cannot read the development credentials at {path}: {error}") from None
    return {str(name): str(key) for name, key in loaded.items()}


def development_key(department: str) -> str:
    keys = development_keys()
    if department not in keys:
        known = ", ".join(sorted(keys))
        raise Forbidden(f"--as-department: no development key for {department} (there are keys for {known})")
    return keys[department]


async def connect(args: argparse.Namespace) -> CaseClient:
    """The SDK's client for the door and credential the flags (or the environment) name."""
    from caseloop.sdk.client import CaseClient

    return await CaseClient.connect(door_url(args), api_key(args), within=args.within)


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_model_flags(parser: argparse.ArgumentParser, model: type[BaseModel], skip: frozenset[str] = SKIPPED) -> None:
    """One flag per field of `model`; each stores into `field:<name>` so the fields can be told from the rest."""
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        kind = _kind(info)
        dest = f"field:{name}"
        help_text = _help(info, kind)
        if kind == "bool":
            yes_no = argparse.BooleanOptionalAction
            parser.add_argument(flag(name), dest=dest, action=yes_no, default=None, help=help_text)
        elif kind in ("list", "json-list"):
            metavar = "JSON" if kind == "json-list" else "VALUE"
            parser.add_argument(flag(name), dest=dest, action="append", default=None, metavar=metavar, help=help_text)
        else:
            parser.add_argument(flag(name), dest=dest, default=None, metavar=_metavar(kind, name), help=help_text)


def model_fields(args: argparse.Namespace, model: type[BaseModel]) -> dict[str, Any]:
    """The fields given as flags (only those given), converted as their kinds say."""
    given: dict[str, Any] = {}
    for key, value in vars(args).items():
        if not key.startswith("field:") or value is None:
            continue
        name = key.removeprefix("field:")
        given[name] = _convert(name, _kind(model.model_fields[name]), value)
    return given


def read_file(path: str | None) -> dict[str, Any]:
    """The fields in a JSON or YAML file (a mapping), or nothing without a file."""
    if path is None:
        return {}
    data = _parsed(path, "--file")
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(name, str) for name in data):
        raise InputRejected(
            f"--file: {path} must hold a mapping of field names to values", rule="file.mapping", field="--file"
        )
    return data


def read_events(path: str) -> tuple[str | None, list[Any]]:
    """A batch file: a list of events, or a mapping with `events` and, optionally, its `batch_id`."""
    data = _parsed(path, "FILE")
    if isinstance(data, dict) and isinstance(data.get("events"), list):
        batch_id = data.get("batch_id")
        return (str(batch_id) if batch_id is not None else None), data["events"]
    if not isinstance(data, list):
        raise InputRejected(f"FILE: {path} must hold a list of events", rule="file.list", field="FILE")
    return None, data


def _parsed(path: str, field: str) -> Any:
    """The JSON (a `.json` file) or YAML a file holds; a file that cannot be read or parsed is rejected."""
    import yaml  # here, not with the module: most commands read no file

    try:
        text = read_text(path, field)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise InputRejected(f"{field}: cannot read {path}: {reason}", rule="file.unreadable", field=field) from None
    try:
        data = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise InputRejected(
            f"{field}: {path} is not valid {_syntax(path)}: {_where(error)}", rule="file.syntax", field=field
        ) from None
    except RecursionError:
        raise InputRejected(f"{field}: {path} nests too deeply to be read", rule="file.syntax", field=field) from None
    check_values(data, path, field)
    return data


def _syntax(path: str) -> str:
    return "JSON" if path.endswith(".json") else "YAML"


def _where(error: ValueError | yaml.YAMLError) -> str:
    """Where the parser stopped and why, in one line."""
    if isinstance(error, json.JSONDecodeError):
        return f"line {error.lineno}, column {error.colno}: {error.msg}"
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    if mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return str(problem)


def merged(args: argparse.Namespace, model: type[BaseModel]) -> dict[str, Any]:
    """The file's fields, then the flags over them."""
    from caseloop.sdk.building import limit_of

    fields = read_file(getattr(args, "file", None))
    for name, value in list(fields.items()):
        if name in model.model_fields and _kind(model.model_fields[name]) == "limit":
            fields[name] = limit_of(value, name)
    fields.update(model_fields(args, model))
    return fields


def parse_instant(text: str | None, field: str) -> datetime | None:
    if text is None:
        return None
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise InputRejected(f"{field}: {text!r} is not an ISO 8601 time", rule="datetime.format", field=field) from None
    if instant.tzinfo is None:
        raise InputRejected(f"{field}: give the offset too, e.g. {text}+08:00", rule="datetime.aware", field=field)
    return instant


def _kind(info: FieldInfo) -> str:
    annotation = info.annotation
    arguments = [a for a in typing.get_args(annotation) if a is not type(None)]
    if _is_union(annotation) and len(arguments) == 1:
        annotation = arguments[0]
    origin = typing.get_origin(annotation)
    if annotation is bool:
        return "bool"
    if annotation is Limit:
        return "limit"
    if origin is list:
        (item,) = typing.get_args(annotation) or (str,)
        return "json-list" if _structured(item) else "list"
    if origin is dict or _structured(annotation):
        return "json"
    return "text"


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _structured(annotation: Any) -> bool:
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _convert(name: str, kind: str, value: Any) -> Any:
    if kind == "limit":
        from caseloop.sdk.building import limit_of

        return limit_of(value, name)
    if kind == "json":
        return _json(name, value)
    if kind == "json-list":
        return [_json(name, item) for item in value]
    return value


def _json(name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise InputRejected(f"{flag(name)}: not JSON: {error}", rule="json.syntax", field=name) from None


def _metavar(kind: str, name: str) -> str:
    return {"limit": "'N UNIT'", "json": "JSON"}.get(kind, name.upper())


def _help(info: FieldInfo, kind: str) -> str:
    parts = [info.description] if info.description else []
    if kind == "limit":
        parts.append("e.g. '15 working-days', '2 office-hours'")
    elif kind == "json-list":
        parts.append("JSON, repeat for more")
    elif kind == "list":
        parts.append("repeat for more")
    elif kind == "json":
        parts.append("JSON")
    annotation = info.annotation
    choices = _choices(annotation)
    if choices:
        parts.append("one of " + ", ".join(choices))
    if info.is_required():
        parts.append("required")
    return "; ".join(parts) or " "


def _choices(annotation: Any) -> list[str]:
    candidates = [annotation, *typing.get_args(annotation)]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, str) and hasattr(candidate, "__members__"):
            return [member.value for member in candidate.__members__.values()]
    return []
