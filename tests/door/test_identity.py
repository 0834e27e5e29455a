"""Who a request is: API keys refused when missing, revoked or expired; a JWT from the configured issuer accepted
end to end (its JWKS served on 127.0.0.1), other JWTs refused."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx

from tests.door.conftest import AUDIENCE, BYSTANDER, ISSUER, LEAD, DoorWorld
from tests.door.test_cases import problem
from tests.door.test_tokens import claims as token_claims
from workers.door.credentials import issue_credential, revoke_credential


async def test_me_names_the_credential(door_world: DoorWorld) -> None:
    answer = await door_world.client(LEAD).get("/v1/me")
    assert answer.status_code == 200
    assert answer.json()["department"] == LEAD
    assert answer.json()["credential_id"] == f"key:{door_world.key_ids[LEAD]}"


async def test_missing_malformed_revoked_and_expired_keys_are_refused(door_world: DoorWorld) -> None:
    async with httpx.AsyncClient(base_url=door_world.url) as anonymous:
        refused = problem(await anonymous.get("/v1/me"), 401)
        assert refused["rule"] == "credential.missing"
        assert (await anonymous.get("/v1/me")).headers["www-authenticate"].startswith("Bearer")
        refused = problem(await anonymous.get("/v1/me", headers={"Authorization": "Bearer clk_nope"}), 401)
        assert refused["rule"] == "credential.malformed"
    issued = await issue_credential(door_world.sessions, door_world.settings, BYSTANDER, created_by="tests")
    async with httpx.AsyncClient(
        base_url=door_world.url, headers={"Authorization": f"Bearer {issued.api_key}"}
    ) as holder:
        assert (await holder.get("/v1/me")).status_code == 200
        await revoke_credential(door_world.sessions, issued.key_id)
        assert problem(await holder.get("/v1/me"), 401)["rule"] == "credential.revoked"
        assert issued.api_key not in (await holder.get("/v1/me")).text
    long_ago = datetime.now(UTC) - timedelta(days=30)
    expired = await issue_credential(
        door_world.sessions, door_world.settings, BYSTANDER, days=1, created_by="tests", clock=lambda: long_ago
    )
    async with httpx.AsyncClient(
        base_url=door_world.url, headers={"Authorization": f"Bearer {expired.api_key}"}
    ) as holder:
        assert problem(await holder.get("/v1/me"), 401)["rule"] == "credential.expired"


def claims(**changes: object) -> dict[str, object]:
    """The lead's system's claims, from the door world's issuer."""
    return token_claims(**({"iss": ISSUER, "aud": AUDIENCE, "sub": "lead-system", "department": LEAD} | changes))


async def test_a_jwt_from_the_issuer_is_accepted_end_to_end(door_world: DoorWorld) -> None:
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async with httpx.AsyncClient(base_url=door_world.url) as client:
        answer = await client.get("/v1/me", headers=bearer(door_world.token(claims())))
        assert answer.status_code == 200, answer.text
        assert answer.json()["department"] == LEAD
        assert answer.json()["credential_id"] == "jwt:idp.caseloop.test:lead-system"
        listed = await client.get("/v1/cases", headers=bearer(door_world.token(claims())), params={"limit": 1})
        assert listed.status_code == 200
        for refused in (
            claims(iss="https://elsewhere.test/"),
            claims(aud="another-api"),
            claims(exp=int(time.time()) - 3600),
            claims(department="SQ-NOWHERE"),
        ):
            problem(await client.get("/v1/me", headers=bearer(door_world.token(refused))), 401)
