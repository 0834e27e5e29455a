"""A department's verification system on 127.0.0.1: it checks the question's signature with the official Standard
Webhooks library, looks the subject up in its own records, and signs its answer over the same id."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI, Request, Response
from standardwebhooks import Webhook, WebhookVerificationError
from temporalio.testing import WorkflowEnvironment

from activities.gateway.webhook_secrets import secret_env_name
from services.registry.importer import import_registry
from tests.sdk.world import World, running_door, serving
from tests.support.department_world import running_worker, sample_store
from workers.resources import Resources
from workers.settings import get_settings


@dataclass
class AnsweringSystem:
    secret: str
    records: dict[str, dict[str, object]]
    # Answers to give before the real one (HTTP statuses), and whether to sign with a key of its own.
    outages: list[int] = field(default_factory=list)
    forge: bool = False
    questions: list[dict[str, object]] = field(default_factory=list)
    # The question's field that names the subject (an ID number, a licence's credit code); None: any field.
    key: str | None = "id_number"

    def app(self) -> FastAPI:
        app = FastAPI()
        signer = Webhook(self.secret)
        forger = Webhook("whsec_" + "Zm9yZ2VkLWtleS1vZi1hbm90aGVyLXN5c3RlbSEhIQ==")

        @app.post("/verify")
        async def verify(request: Request) -> Response:
            body = await request.body()
            try:
                question = signer.verify(body, dict(request.headers))
            except WebhookVerificationError:
                return Response(status_code=401)
            self.questions.append(question)
            if self.outages:
                return Response(status_code=self.outages.pop(0))
            asked = question["question"]
            values = [asked.get(self.key)] if self.key is not None else list(asked.values())
            subject = next((self.records[str(value)] for value in values if str(value) in self.records), None)
            if subject is None:
                return Response(status_code=404)
            answer = json.dumps(subject, ensure_ascii=False).encode()
            call_id = request.headers["webhook-id"]
            now = datetime.now(UTC)
            signature = (forger if self.forge else signer).sign(call_id, now, answer.decode())
            return Response(
                content=answer,
                media_type="application/json",
                headers={
                    "webhook-id": call_id,
                    "webhook-timestamp": str(int(now.timestamp())),
                    "webhook-signature": signature,
                },
            )

        return app


@dataclass(frozen=True)
class Grant:
    """A shared item at the test's answering system, granted to one department."""

    code: str
    name: str
    department: str
    system: str
    grantee: str


@dataclass
class VerifyingWorld:
    door: World
    worker: Resources
    answering: AnsweringSystem


@asynccontextmanager
async def verifying_world(
    env: WorkflowEnvironment,
    directory: Path,
    monkeypatch: pytest.MonkeyPatch,
    answering: AnsweringSystem,
    grant: Grant,
    secret_ref: str,
) -> AsyncIterator[VerifyingWorld]:
    """The sample registry's store, the production worker, the answering system and a door, all on loopback, with
    `grant` imported into the registry at the answering system's address."""
    # The production worker reads the item's secret and the webhook allow-list from its environment.
    monkeypatch.setenv("CASELOOP_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    monkeypatch.setenv(secret_env_name(secret_ref), answering.secret)
    get_settings.cache_clear()
    store = await sample_store(directory)
    queue = f"verify-{directory.name}"
    try:
        async with (
            running_worker(env, store, queue) as worker,
            serving(answering.app(), stand_in=True) as system,
            running_door(env, store, queue, directory, worker.sessions) as door,
        ):
            file = directory / f"{grant.code}.yaml"
            file.write_text(
                "shared_items:\n"
                f"  - code: {grant.code}\n"
                f"    name: {grant.name}\n"
                f"    department: {grant.department}\n"
                f"    system: {grant.system}\n"
                f"    endpoint_url: {system}/verify\n"
                f"    secret_ref: {secret_ref}\n"
                "    timeout_seconds: 5\n"
                f"    grantees: [{grant.grantee}]\n",
                encoding="utf-8",
            )
            await import_registry(worker.sessions, [file])
            yield VerifyingWorld(door, worker, answering)
    finally:
        get_settings.cache_clear()
