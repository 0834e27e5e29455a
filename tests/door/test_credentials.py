"""API keys on SQLite and PostgreSQL: issue, authenticate, refuse, revoke, rotate keys and peppers; and the CLI."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store.credentials import ApiCredential
from activities.store.registry import Department
from caseloop.cli import main
from caseloop.errors import EXIT_NOT_FOUND, EXIT_REJECTED
from schemas.access import CredentialKind, CredentialStatus, RefusalReason
from schemas.clock import SHANGHAI
from tests.support.migrations import model_differences
from tests.support.production import production_settings
from workers.door.credentials import (
    OPERATOR_ENTRY,
    Authenticator,
    CredentialNotFound,
    CredentialRefused,
    CredentialRejected,
    issue_credential,
    issue_development_credentials,
    list_credentials,
    read_development_credentials,
    revoke_credential,
    write_development_credentials,
)
from workers.settings import Environment, Settings, get_settings

Sessions = async_sessionmaker[AsyncSession]
LEAD = "SQ-SPJ"
OTHER = "SQ-FGW"
CITY = "SQ"
RETIRED = "SQ-OLD"


def pepper(seed: str) -> str:
    return base64.b64encode(seed.encode().ljust(32, b"\0")).decode()


P0, P1 = f"p0:{pepper('zero')}", f"p1:{pepper('one')}"


@pytest.fixture
async def departments(sessions: Sessions) -> Sessions:
    """A store whose registry holds a few departments, one of them retired."""
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        for code, active in ((CITY, True), (LEAD, True), (OTHER, True), (RETIRED, False)):
            session.add(
                Department(
                    code=code,
                    name=code,
                    level="city",
                    parent_code=None,
                    is_locality=False,
                    webhook_url=None,
                    secret_ref=None,
                    active=active,
                    updated_at=now,
                )
            )
    return sessions


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, api_key_peppers=P0)


async def issue(sessions: Sessions, settings: Settings, department: str = LEAD, **options: Any) -> tuple[str, str]:
    issued = await issue_credential(sessions, settings, department, created_by="test", **options)
    return issued.key_id, issued.api_key


async def refusal(authenticator: Authenticator, token: str) -> CredentialRefused:
    with pytest.raises(CredentialRefused) as caught:
        await authenticator.authenticate(token)
    return caught.value


async def test_an_issued_key_authenticates_as_its_department(
    departments: Sessions, settings: Settings, http: httpx.AsyncClient
) -> None:
    issued = await issue_credential(departments, settings, LEAD, created_by="test", comment="the approval system")
    assert issued.api_key.startswith(f"clk_{issued.key_id}_")
    assert len(issued.key_id) == 12 and len(issued.api_key.split("_", 2)[2]) >= 43
    assert issued.status is CredentialStatus.LIVE
    assert timedelta(days=89) < issued.expires_at - issued.created_at <= timedelta(days=90)

    authenticator = Authenticator(settings, departments, http)
    caller = await authenticator.authenticate(issued.api_key)
    assert caller.department == LEAD
    assert caller.kind is CredentialKind.DEPARTMENT
    assert caller.credential_id == f"key:{issued.key_id}"
    assert caller.expires_at == issued.expires_at
    await authenticator.drain()

    # Only the HMAC is stored: neither the key nor its secret appears in the row or the listing.
    secret = issued.api_key.split("_", 2)[2]
    async with departments() as session:
        row = await session.scalar(select(ApiCredential).where(ApiCredential.key_id == issued.key_id))
    assert row is not None and secret not in repr(vars(row)) and row.pepper_id == "p0"
    listed = await list_credentials(departments)
    assert [c.key_id for c in listed] == [issued.key_id]
    assert secret not in listed[0].model_dump_json() and listed[0].comment == "the approval system"


async def test_an_operator_key(departments: Sessions, settings: Settings, http: httpx.AsyncClient) -> None:
    _, key = await issue(departments, settings, CITY, kind=CredentialKind.OPERATOR)
    caller = await Authenticator(settings, departments, http).authenticate(key)
    assert (caller.department, caller.kind) == (CITY, CredentialKind.OPERATOR)


async def test_wrong_unknown_and_malformed_credentials_are_refused(
    departments: Sessions, settings: Settings, http: httpx.AsyncClient
) -> None:
    key_id, key = await issue(departments, settings)
    authenticator = Authenticator(settings, departments, http)
    secret = key.split("_", 2)[2]
    forged = f"clk_{key_id}_{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}"

    wrong = await refusal(authenticator, forged)
    assert wrong.reason is RefusalReason.BAD_SIGNATURE
    assert key_id in wrong.message and secret[:-1] not in wrong.message

    unknown = await refusal(authenticator, f"clk_{'a' * 12}_{secret}")
    assert unknown.reason is RefusalReason.UNKNOWN and secret not in unknown.message

    for token in ("clk_", f"clk_{key_id}", f"clk_{key_id}_short", f"clk_{key_id.upper()}_{secret}", "Basic abc"):
        assert (await refusal(authenticator, token)).reason is RefusalReason.MALFORMED
    assert (await refusal(authenticator, "")).reason is RefusalReason.MISSING
    # JWT-shaped, but this deployment configures no issuer.
    assert (await refusal(authenticator, "eyJhbGciOi.eyJzdWIiOi.c2ln")).reason is RefusalReason.JWT_NOT_ACCEPTED
    # Another department's pepper-free copy: a key only verifies against its own row.
    other_id, _ = await issue(departments, settings, OTHER)
    assert (await refusal(authenticator, f"clk_{other_id}_{secret}")).reason is RefusalReason.BAD_SIGNATURE


async def test_revocation_is_immediate_and_irreversible(
    departments: Sessions, settings: Settings, http: httpx.AsyncClient
) -> None:
    key_id, key = await issue(departments, settings)
    authenticator = Authenticator(settings, departments, http)
    await authenticator.authenticate(key)

    first = await revoke_credential(departments, key_id)
    assert first.status is CredentialStatus.REVOKED and first.revoked_at is not None
    refused = await refusal(authenticator, key)
    assert refused.reason is RefusalReason.REVOKED and key.split("_", 2)[2] not in refused.message

    # Revoking again changes nothing: the first revocation's instant stays, and the key stays refused.
    later = datetime.now(UTC) + timedelta(hours=1)
    again = await revoke_credential(departments, key_id, clock=lambda: later)
    assert again.revoked_at == first.revoked_at
    assert (await refusal(authenticator, key)).reason is RefusalReason.REVOKED

    with pytest.raises(CredentialNotFound):
        await revoke_credential(departments, "a" * 12)
    await authenticator.drain()


async def test_an_expired_key_is_refused(departments: Sessions, settings: Settings, http: httpx.AsyncClient) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=100)
    key_id, key = await issue(departments, settings, days=30, clock=lambda: long_ago)
    refused = await refusal(Authenticator(settings, departments, http), key)
    assert refused.reason is RefusalReason.EXPIRED and key_id in refused.message
    assert [c.status for c in await list_credentials(departments)] == [CredentialStatus.EXPIRED]
    # An expired key no longer counts towards the two live ones.
    await issue(departments, settings)
    await issue(departments, settings)


async def test_two_live_keys_per_department_and_kind_so_rotation_overlaps(
    departments: Sessions, settings: Settings, http: httpx.AsyncClient
) -> None:
    authenticator = Authenticator(settings, departments, http)
    old_id, old = await issue(departments, settings)
    new_id, new = await issue(departments, settings)
    # Both work while the department's system switches over.
    assert (await authenticator.authenticate(old)).credential_id == f"key:{old_id}"
    assert (await authenticator.authenticate(new)).credential_id == f"key:{new_id}"

    with pytest.raises(CredentialRejected) as third:
        await issue(departments, settings)
    assert third.value.rule == "credentials.two-live-keys" and third.value.field == "department"
    assert old_id in str(third.value) and new_id in str(third.value)
    # The limit is per department and per kind.
    await issue(departments, settings, OTHER)
    await issue(departments, settings, kind=CredentialKind.OPERATOR)

    await revoke_credential(departments, old_id)
    assert (await refusal(authenticator, old)).reason is RefusalReason.REVOKED
    assert (await authenticator.authenticate(new)).department == LEAD
    await issue(departments, settings)  # room again
    await authenticator.drain()


async def test_issuing_is_refused_outside_the_rules(departments: Sessions, settings: Settings) -> None:
    now = datetime.now(UTC)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"department": "SQ-NOPE"}, "credentials.department-unknown", "department"),
        ({"department": RETIRED}, "credentials.department-inactive", "department"),
        ({"expires_at": now - timedelta(minutes=1)}, "credentials.expiry-past", "expires_at"),
        ({"expires_at": now + timedelta(days=731)}, "credentials.expiry-too-far", "expires_at"),
        ({"expires_at": datetime(2030, 1, 1)}, "credentials.expiry-aware", "expires_at"),
        ({"days": 0}, "credentials.expiry-past", "days"),
        ({"days": 731}, "credentials.expiry-too-far", "days"),
        ({"days": 3, "expires_at": now + timedelta(days=3)}, "credentials.expiry", "days"),
    ]
    for options, rule, field in cases:
        department = options.pop("department", LEAD)
        with pytest.raises(CredentialRejected) as refused:
            await issue(departments, settings, department, **options)
        assert (refused.value.rule, refused.value.field) == (rule, field), options
    assert await list_credentials(departments) == []

    exact = now + timedelta(days=730)
    await issue(departments, settings, expires_at=exact)
    assert (await list_credentials(departments))[0].expires_at == exact


async def test_a_key_survives_a_pepper_rotation(departments: Sessions, tmp_path: Path, http: httpx.AsyncClient) -> None:
    before = Settings(data_dir=tmp_path, api_key_peppers=P0)
    key_id, key = await issue(departments, before)

    # p1 now encodes; p0 still verifies, and the first use rewrites the stored hash under p1.
    rotated = Settings(data_dir=tmp_path, api_key_peppers=f"{P1},{P0}")
    authenticator = Authenticator(rotated, departments, http)
    assert (await authenticator.authenticate(key)).department == LEAD
    await authenticator.drain()
    fresh_id, fresh = await issue(departments, rotated)
    async with departments() as session:
        peppers = {row.key_id: row.pepper_id for row in await session.scalars(select(ApiCredential))}
    assert peppers == {key_id: "p1", fresh_id: "p1"}

    # With p0 retired, both keys still work.
    after = Authenticator(Settings(data_dir=tmp_path, api_key_peppers=P1), departments, http)
    assert (await after.authenticate(key)).credential_id == f"key:{key_id}"
    assert (await after.authenticate(fresh)).credential_id == f"key:{fresh_id}"
    await after.drain()

    # A pepper nobody configured verifies nothing.
    stranger = Authenticator(Settings(data_dir=tmp_path, api_key_peppers=P0), departments, http)
    assert (await refusal(stranger, key)).reason is RefusalReason.BAD_SIGNATURE


async def test_last_used_is_recorded_at_most_once_a_minute(
    departments: Sessions, settings: Settings, http: httpx.AsyncClient
) -> None:
    _, key = await issue(departments, settings)
    now = datetime.now(UTC)
    moment = [now]
    authenticator = Authenticator(settings, departments, http, clock=lambda: moment[0])

    async def last_used() -> datetime | None:
        await authenticator.drain()
        return (await list_credentials(departments))[0].last_used_at

    assert await last_used() is None
    await authenticator.authenticate(key)
    assert await last_used() == now
    moment[0] = now + timedelta(seconds=30)
    await asyncio.gather(*(authenticator.authenticate(key) for _ in range(5)))
    assert await last_used() == now
    # Another process (a second door replica) also writes at most once a minute, going by the row.
    replica = Authenticator(settings, departments, http, clock=lambda: moment[0])
    await replica.authenticate(key)
    await replica.drain()
    assert await last_used() == now
    moment[0] = now + timedelta(seconds=61)
    await authenticator.authenticate(key)
    assert await last_used() == now + timedelta(seconds=61)


async def test_development_credentials(departments: Sessions, settings: Settings, http: httpx.AsyncClient) -> None:
    issued = await issue_development_credentials(departments, settings, [LEAD, OTHER])
    assert set(issued) == {LEAD, OTHER, OPERATOR_ENTRY}
    authenticator = Authenticator(settings, departments, http)
    assert (await authenticator.authenticate(issued[LEAD])).department == LEAD
    operator = await authenticator.authenticate(issued[OPERATOR_ENTRY])
    assert (operator.department, operator.kind) == (CITY, CredentialKind.OPERATOR)

    # Running again replaces the earlier development keys instead of meeting the two-live-keys rule.
    await issue_development_credentials(departments, settings, [LEAD, OTHER])
    again = await issue_development_credentials(departments, settings, [LEAD, OTHER])
    assert (await refusal(authenticator, issued[LEAD])).reason is RefusalReason.REVOKED
    assert (await authenticator.authenticate(again[LEAD])).department == LEAD
    await authenticator.drain()

    with pytest.raises(CredentialRejected, match="never issued in production"):
        production = Settings.model_construct(**(dict(settings) | {"environment": Environment.PRODUCTION}))
        await issue_development_credentials(departments, production, [LEAD])


def test_development_credentials_are_written_for_the_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "credentials.json"
    write_development_credentials(path, {LEAD: "clk_one", OPERATOR_ENTRY: "clk_two"})
    write_development_credentials(path, {LEAD: "clk_three"})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert read_development_credentials(path) == {LEAD: "clk_three"}
    assert [p.name for p in path.parent.iterdir()] == ["credentials.json"]


def test_peppers_in_the_settings(tmp_path: Path) -> None:
    production = production_settings() | {"api_key_peppers": None}
    with pytest.raises(ValidationError, match="api_key_peppers must be set in production"):
        Settings.model_validate(production)
    assert Settings.model_validate(production | {"api_key_peppers": P0}).api_key_pepper_list()[0][0] == "p0"

    leaked = base64.b64encode(b"short secret").decode()
    for bad in (f"p0:{leaked}", "p0", f"p0:{pepper('a')},p0:{pepper('b')}", "p 0:" + pepper("a"), "p0:!!!"):
        with pytest.raises(ValidationError) as refused:
            Settings(api_key_peppers=bad)
        assert leaked not in str(refused.value) and pepper("a") not in str(refused.value)

    # Outside production an unset pepper is derived per data directory, under an id naming it.
    here, there = Settings(data_dir=tmp_path / "a"), Settings(data_dir=tmp_path / "b")
    assert here.api_key_pepper_list() == Settings(data_dir=tmp_path / "a").api_key_pepper_list()
    assert here.api_key_pepper_list()[0][0].startswith("dev-")
    assert here.api_key_pepper_list()[0][0] != there.api_key_pepper_list()[0][0]


async def test_the_model_matches_the_migration(store_url: str) -> None:
    assert await model_differences(store_url, "api_credentials") == []


# The CLI, as an operator runs it against the store of the settings.


@pytest.fixture
def cli_store(
    departments: Sessions, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    monkeypatch.setenv("CASELOOP_STORE_URL", store_url)
    monkeypatch.setenv("CASELOOP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CASELOOP_API_KEY_PEPPERS", P0)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


async def run_cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_the_cli_issues_lists_and_revokes(
    cli_store: Settings, departments: Sessions, http: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_cli("credentials", "issue", LEAD, "--comment", "審批系統") == 0
    said = capsys.readouterr()
    key = said.out.strip()
    assert key.startswith("clk_") and "\n" not in key
    assert "shown this once" in said.err and f"for {LEAD} (department)" in said.err
    key_id = key.split("_")[1]

    day = (datetime.now(UTC) + timedelta(days=100)).date()
    assert await run_cli("credentials", "issue", CITY, "--kind", "operator", "--expires", str(day), "--json") == 0
    operator = json.loads(capsys.readouterr().out)
    assert operator["kind"] == "operator" and operator["api_key"].startswith(f"clk_{operator['key_id']}_")
    midnight_in_shanghai = datetime.combine(day, time(), SHANGHAI).astimezone(UTC)
    assert datetime.fromisoformat(operator["expires_at"]) == midnight_in_shanghai

    authenticator = Authenticator(cli_store, departments, http)
    assert (await authenticator.authenticate(key)).department == LEAD
    await authenticator.drain()

    assert await run_cli("credentials", "list") == 0
    listing = capsys.readouterr().out
    assert key_id in listing and operator["key_id"] in listing and "審批系統" in listing
    assert key.split("_", 2)[2] not in listing and operator["api_key"] not in listing
    assert await run_cli("credentials", "list", "--department", LEAD, "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(c["key_id"], c["status"]) for c in listed] == [(key_id, "live")]
    assert listed[0]["last_used_at"] is not None and "api_key" not in listed[0]

    assert await run_cli("credentials", "revoke", key_id) == 0
    assert f"API key {key_id} of {LEAD} revoked" in capsys.readouterr().out
    assert await run_cli("credentials", "revoke", key_id, "--json") == 0
    assert json.loads(capsys.readouterr().out)["status"] == "revoked"
    assert (await refusal(authenticator, key)).reason is RefusalReason.REVOKED


async def test_the_cli_exit_codes(cli_store: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_cli("credentials", "issue", "SQ-NOPE") == EXIT_REJECTED
    assert "department SQ-NOPE does not exist in the registry" in capsys.readouterr().err
    assert await run_cli("credentials", "issue", LEAD, "--expires", "2001-01-01") == EXIT_REJECTED
    assert "not in the future" in capsys.readouterr().err
    assert await run_cli("credentials", "issue", LEAD, "--days", "9999") == EXIT_REJECTED
    assert await run_cli("credentials", "issue", LEAD) == 0
    assert await run_cli("credentials", "issue", LEAD) == 0
    capsys.readouterr()
    assert await run_cli("credentials", "issue", LEAD) == EXIT_REJECTED
    assert "revoke one before issuing another" in capsys.readouterr().err
    assert await run_cli("credentials", "revoke", "aaaaaaaaaaaa") == EXIT_NOT_FOUND
    assert "no API key has the id aaaaaaaaaaaa" in capsys.readouterr().err
    assert await run_cli("credentials", "list", "--department", OTHER) == 0
    assert capsys.readouterr().out.strip() == f"no API keys for {OTHER}"
