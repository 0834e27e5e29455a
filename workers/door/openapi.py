"""The door's OpenAPI document: FastAPI's, with every error answer as problem details and the retention of
Idempotency-Key records published.

    python -m workers.door.openapi > docs/openapi.json     # regenerate (a test checks it matches the served one)
"""

from __future__ import annotations

import json
import sys
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from schemas.api import Problem
from workers.settings import Settings

PROBLEM_REF = "#/components/schemas/Problem"
DESCRIPTION = """\
The front door of caseloop: department systems launch and drive cases, report events that start hand-offs, read
their inbox and compute deadlines, over HTTP with JSON.

**Identity.** Every request carries `Authorization: Bearer <credential>`: a department's API key (`clk_…`) or a
JWT from the city's identity platform. The department a request acts for is the credential's, never the body's; a
command names only the `role` it acts in, and the door answers 403 when the department does not hold that role on
the case, 404 when it has no part in the case at all. Lists and counts show only what the department is party to.

**Retries.** A command's `Idempotency-Key` header (quoted or bare) is its command id: sending it again answers the
first result (success or refusal) and applies the command at most once; while the first is in flight (until its
answer is recorded, just after it is sent) the answer is 409 with `Retry-After`, and the same key with another
request is 422 (`idempotency-key-reused`). Records of keys are kept {hours:g} hours. After a 504 (`timeout`,
naming the `command_id`) or a 503, send the command again with the same key.

**Errors** are RFC 9457 problem details (`application/problem+json`) with `rule` and `field`; request validation
lists every problem in `errors[]` with a JSON `pointer`. Problem types are URIs under {base}.
"""

ERRORS: dict[str, str] = {
    "401": "The credential is missing, unknown, revoked or expired",
    "403": "The credential's department may not do this (it holds no such role here)",
    "404": "No such resource, or none the caller's department is party to",
    "409": "A request with this Idempotency-Key is still in flight",
    "413": "The request body is too large",
    "422": "A rule refused the request, the request is invalid, or the Idempotency-Key was used for another request",
    "429": "Too many public lookups from this address; retry after Retry-After seconds",
    "503": "The engine cannot be reached; retry later (with the same Idempotency-Key)",
    "504": "No answer in time; retry with the same Idempotency-Key (`command_id`)",
}


# Routes that take no credential (the requester's status lookup): documented as such, with their own errors.
PUBLIC_PATHS = frozenset({"/v1/status", "/v1/joint/status"})


def document(app: FastAPI, settings: Settings, retention_hours: float) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=DESCRIPTION.format(hours=retention_hours, base=settings.problem_base),
        routes=app.routes,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem.pop("$defs", {}))
    components["Problem"] = problem
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            operation["responses"] = {**operation["responses"], **_errors(path, method, operation)}
            if path in PUBLIC_PATHS:
                operation["security"] = []
    return schema


def _errors(path: str, method: str, operation: dict[str, Any]) -> dict[str, Any]:
    if path in PUBLIC_PATHS:
        statuses = ["404", "413", "422", "429", "503", "504"]
    else:
        statuses = ["401", "403", "404", "422", "503", "504"]
    if method == "post" and path not in PUBLIC_PATHS:
        statuses.append("413")
        if any(parameter.get("name") == "Idempotency-Key" for parameter in operation.get("parameters", [])):
            statuses.append("409")
    answers: dict[str, Any] = {}
    for status in sorted(statuses):
        answer: dict[str, Any] = {
            "description": ERRORS[status],
            "content": {"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}},
        }
        if status == "401":
            answer["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        answers[status] = answer
    return answers


def install_openapi(app: FastAPI, settings: Settings, options: Any) -> None:
    hours = options.idempotency_retention.total_seconds() / 3600

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app, settings, hours)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def main() -> int:
    from workers.door.app import build_app

    app = build_app(Settings(_env_file=None))  # type: ignore[call-arg]
    sys.stdout.write(json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
