"""Front door fixtures.

The door's world (below): the dev server, a worker on a SQLite store with the sample registry and a case matter of
the module's own, the door served by uvicorn on a free 127.0.0.1 port, a JWKS served beside it, and an API key per
department playing a part.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from caseloop.direct import CaseClient
from schemas.access import CredentialKind
from tests.sdk.world import add_launchable_matter
from tests.support.department_world import (
    APPROVAL_BUREAU,
    BUSINESS_OFFICE,
    HEALTH_COMMISSION,
    HOUSING,
    MARKET_REGULATOR,
    SUCHENG,
    SUPERVISION_OFFICE,
    running_worker,
    sample_store,
    target_of,
)
from tests.support.door_clients import KeyedClients
from tests.support.embedded_stack import free_ports
from workers.door.app import build_app
from workers.door.credentials import issue_credential
from workers.door.serve import serving
from workers.settings import Settings

# The door's world. Who plays which part in the module's cases.
INITIATOR = "SQ-FGW"  # 發改委: the matter's initiator, whose system launches
COORDINATOR = BUSINESS_OFFICE  # the registry's default coordinator
SUPERVISOR = SUPERVISION_OFFICE  # the registry's default supervisor
LEAD = HOUSING
LOCALITY = SUCHENG
OUTSIDER = MARKET_REGULATOR  # no part in the module's cases
BYSTANDER = APPROVAL_BUREAU  # a second outsider
OPERATOR = "SQ"
ISSUER = "https://idp.caseloop.test/realms/city"
AUDIENCE = "caseloop-door"


@dataclass
class DoorWorld(KeyedClients):
    url: str
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    matter: str
    keys: dict[str, str]
    key_ids: dict[str, str]
    signing_key: rsa.RSAPrivateKey
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    def token(self, claims: dict[str, Any], *, kid: str = "k1") -> str:
        return jwt.encode(claims, self.signing_key, algorithm="RS256", headers={"kid": kid})


def _jwks_app(key: rsa.RSAPrivateKey) -> FastAPI:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    public.update(kid="k1", use="sig", alg="RS256")
    app = FastAPI()

    @app.get("/jwks")
    async def jwks() -> dict[str, Any]:
        return {"keys": [public]}

    return app


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client, as the door's authenticator fetches JWKS with."""
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture(scope="module")
async def door_world(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[DoorWorld]:
    directory = tmp_path_factory.mktemp("door")
    store = await sample_store(directory)
    queue = f"door-{uuid.uuid4()}"
    jwks_port, door_port = free_ports(2)
    signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=directory,
        store_url=store,
        task_queue=queue,
        temporal_target=target_of(dev_env),
        jwt_issuer=ISSUER,
        jwt_jwks_url=f"http://127.0.0.1:{jwks_port}/jwks",
        jwt_audience=AUDIENCE,
    )
    async with running_worker(dev_env, store, queue) as resources:
        matter = await add_launchable_matter(resources.sessions, directory, lead=LEAD, initiator=INITIATOR)
        keys: dict[str, str] = {}
        key_ids: dict[str, str] = {}
        for department in (INITIATOR, COORDINATOR, SUPERVISOR, LEAD, LOCALITY, OUTSIDER, BYSTANDER, HEALTH_COMMISSION):
            issued = await issue_credential(resources.sessions, settings, department, created_by="tests")
            keys[department], key_ids[department] = issued.api_key, issued.key_id
        operator = await issue_credential(
            resources.sessions, settings, OPERATOR, kind=CredentialKind.OPERATOR, created_by="tests"
        )
        keys["operator"], key_ids["operator"] = operator.api_key, operator.key_id
        engine = await CaseClient.connect(settings, within=30)
        app = build_app(settings, engine=engine, sessions=resources.sessions)
        async with (
            serving(_jwks_app(signing_key), "127.0.0.1", jwks_port),
            serving(app, "127.0.0.1", door_port),
        ):
            world = DoorWorld(
                url=f"http://127.0.0.1:{door_port}",
                settings=settings,
                sessions=resources.sessions,
                matter=matter,
                keys=keys,
                key_ids=key_ids,
                signing_key=signing_key,
            )
            try:
                yield world
            finally:
                await world.close_clients()
        await engine.close()
