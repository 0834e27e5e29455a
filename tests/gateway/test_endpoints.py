"""Which webhook URLs caseloop calls, at registry import and again on the resolved address before every push, and
what a 410 Gone does: disable the endpoint, send pushes to the inbox, tell an operator."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.gateway.delivery import GatewayActivities
from activities.gateway.endpoints import EndpointRefused, WebhookPolicy, check_url, parse_allow_list, resolve
from activities.gateway.inbox import InboxActivities
from activities.gateway.webhook_secrets import environment_secret
from activities.store.delivery import DeliveryAttemptRepository
from activities.store.registry import Department
from caseloop.cli import main
from caseloop.errors import EXIT_NOT_FOUND, EXIT_REJECTED
from schemas.delivery import DeliveryOutcome, InboxQuery
from services.registry.document import read_registry_files
from services.registry.importer import RegistryRejected, import_registry
from services.registry.validation import StoredRegistry, validate
from tests.gateway.conftest import LOCAL_RECEIVERS, SECRET_REF, a_push, add_department
from tests.gateway.department import DepartmentSystem
from tests.gateway.receiver import Answer, Receiver
from tests.gateway.tls import authority_for
from tests.gateway.workflows import DeliverOnePushWorkflow
from workers.settings import get_settings

NOTHING_ALLOWED = WebhookPolicy()
PRODUCTION = WebhookPolicy(https_only=True)


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://127.0.0.1:8080/push", "names a loopback address (127.0.0.1)"),
        ("http://[::1]/push", "names a loopback address (::1)"),
        ("http://[::ffff:127.0.0.1]/push", "names a loopback address (127.0.0.1)"),
        ("http://localhost:8080/push", "names a loopback host (localhost)"),
        ("http://api.localhost/push", "names a loopback host (api.localhost)"),
        ("http://169.254.169.254/latest/meta-data/", "names a link-local address (169.254.169.254)"),
        ("http://[fe80::1]/push", "link-local"),
        ("http://10.1.2.3/push", "names a private address (10.1.2.3)"),
        ("http://172.20.0.5/push", "private"),
        ("http://192.168.1.10/push", "private"),
        ("http://100.64.0.1/push", "names a shared (CGNAT) address"),
        ("http://[fd12:3456::1]/push", "names a unique-local address"),
        ("http://0.0.0.0/push", "names a unspecified address"),
        ("http://[::]/push", "unspecified"),
        ("http://224.0.0.1/push", "multicast"),
        ("https://caseloop:hunter2@jg.example.org/push", "must not carry credentials"),
        ("https://token@jg.example.org/push", "must not carry credentials"),
        ("ftp://jg.example.org/push", "must be an http:// or https:// URL"),
        ("jg.example.org/push", "must be an http:// or https:// URL"),
        ("https://jg.example.org/push now", "must not contain spaces or control characters"),
        ("https://jg.example.org/\npush", "must not contain spaces or control characters"),
        ("http:///push", "names no host"),
        ("https://jg.example.org:99999/push", "port out of range"),
    ],
)
def test_urls_the_rules_refuse_name_the_rule(url: str, rule: str) -> None:
    with pytest.raises(EndpointRefused) as refused:
        check_url(url, NOTHING_ALLOWED)
    assert rule in refused.value.rule


def test_internal_addresses_point_at_the_allow_list() -> None:
    with pytest.raises(EndpointRefused) as refused:
        check_url("http://10.1.2.3/push", NOTHING_ALLOWED)
    assert "CASELOOP_WEBHOOK_ALLOW_HOSTS" in refused.value.rule


@pytest.mark.parametrize(
    "url", ["https://jg.example.org/push", "http://93.184.215.14:8080/push", "https://[2001:4860::8888]/"]
)
def test_public_urls_pass_outside_production(url: str) -> None:
    assert check_url(url, NOTHING_ALLOWED).url == httpx.URL(url)


def test_production_takes_https_only() -> None:
    with pytest.raises(EndpointRefused) as refused:
        check_url("http://jg.example.org/push", PRODUCTION)
    assert refused.value.rule == "must be an https:// URL in production"
    check_url("https://jg.example.org/push", PRODUCTION)


def test_the_allow_list_takes_addresses_networks_and_host_names() -> None:
    hosts, networks = parse_allow_list(" 127.0.0.1, 10.20.0.0/16 ,Hooks.Internal., ,[fd00::7]")
    allowed = WebhookPolicy(allowed_hosts=hosts, allowed_networks=networks)

    for url in ("http://127.0.0.1:9/p", "http://10.20.3.4/p", "http://hooks.internal/p", "http://[fd00::7]/p"):
        check_url(url, allowed)
    for url in ("http://127.0.0.2/p", "http://10.21.0.1/p", "http://[fd00::8]/p"):
        with pytest.raises(EndpointRefused):
            check_url(url, allowed)
    with pytest.raises(EndpointRefused, match="credentials"):
        check_url("http://user:pw@hooks.internal/p", allowed)
    with pytest.raises(EndpointRefused, match="https"):
        check_url("http://hooks.internal/p", WebhookPolicy(https_only=True, allowed_hosts=hosts))


@pytest.mark.parametrize("host", ["2130706433", "127.1", "0x7f.0.0.1"])
async def test_a_host_name_is_judged_by_the_address_it_resolves_to(host: str) -> None:
    url = f"http://{host}:8080/push"
    check_url(url, NOTHING_ALLOWED)  # the URL itself names no address

    with pytest.raises(EndpointRefused) as refused:
        await resolve(url, NOTHING_ALLOWED)

    assert refused.value.rule.startswith(f"resolves to a loopback address ({host} → 127.0.0.1)")
    assert (await resolve(url, LOCAL_RECEIVERS)).addresses == (ipaddress.ip_address("127.0.0.1"),)


# Registry import: a refused URL is a problem naming the field and the rule.

REGISTRY_FILE = """
departments:
  - code: SQ-SCJGJ
    name: 宿遷市市場監督管理局
    level: city
    webhook_url: {url}
    secret_ref: test-department-webhook
"""


def registry_file(directory: Path, url: str) -> Path:
    path = directory / f"registry-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(REGISTRY_FILE.format(url=url), encoding="utf-8")
    return path


@pytest.fixture
def settings_allow_local(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The allow-list as an operator sets it, read through the process's settings."""
    monkeypatch.setenv("CASELOOP_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://169.254.169.254/latest/meta-data/", "names a link-local address (169.254.169.254)"),
        ("https://caseloop:hunter2@jg.example.org/push", "must not carry credentials"),
        ("http://127.0.0.1:8080/push", "names a loopback address"),
    ],
)
async def test_an_import_with_a_refused_url_names_field_and_rule(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path, url: str, rule: str
) -> None:
    get_settings.cache_clear()
    with pytest.raises(RegistryRejected) as rejected:
        await import_registry(sessions, [registry_file(tmp_path, url)])

    [problem] = rejected.value.problems
    assert (problem.where, problem.field) == ("departments[0] (SQ-SCJGJ)", "webhook_url")
    assert rule in problem.rule
    assert "hunter2" not in str(rejected.value)


def test_an_import_in_production_takes_https_only(tmp_path: Path) -> None:
    document = read_registry_files([registry_file(tmp_path, "http://jg.example.org/push")])

    [problem] = validate(document, StoredRegistry(), PRODUCTION)

    assert (problem.field, problem.rule) == ("webhook_url", "must be an https:// URL in production")
    assert validate(document, StoredRegistry(), NOTHING_ALLOWED) == []


async def test_the_allow_list_setting_admits_a_local_receiver_at_import_and_delivery(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path, webhook_secret: str, settings_allow_local: None
) -> None:
    department = DepartmentSystem(webhook_secret, [Answer(200, "ok")])
    await import_registry(sessions, [registry_file(tmp_path, department.receiver.url)])

    async with httpx.AsyncClient() as http:
        gateway = GatewayActivities(sessions, http, environment_secret)  # the settings' policy, as the worker's
        with department.receiver.running():
            result = await ActivityEnvironment().run(gateway.deliver_push, a_push("SQ-SCJGJ"))

    assert result.outcome is DeliveryOutcome.DELIVERED


# Delivery: a refused URL sends the push to the inbox and fails for good, so the workflow tells the coordinator.


async def test_a_refused_url_at_delivery_goes_to_the_inbox_without_a_retry(
    ts_env: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession], task_queue: str, webhook_secret: str
) -> None:
    receiver = Receiver([Answer(200, "ok")])
    await add_department(sessions, "SQ-SPJ", webhook_url=receiver.url)  # e.g. imported before the rules
    push = a_push("SQ-SPJ")

    async with httpx.AsyncClient() as http:
        gateway = GatewayActivities(sessions, http, environment_secret, NOTHING_ALLOWED)
        async with Worker(
            ts_env.client, task_queue=task_queue, workflows=[DeliverOnePushWorkflow], activities=[gateway.deliver_push]
        ):
            with receiver.running(), pytest.raises(WorkflowFailureError) as raised:
                await ts_env.client.execute_workflow(
                    DeliverOnePushWorkflow.run, push, id=f"deliver-{uuid.uuid4()}", task_queue=task_queue
                )

    assert isinstance(raised.value.cause, ActivityError)
    failure = raised.value.cause.cause
    assert isinstance(failure, ApplicationError)
    assert (failure.type, failure.non_retryable) == ("EndpointRefused", True)
    assert "webhook_url names a loopback address (127.0.0.1)" in failure.message and "inbox" in failure.message
    assert receiver.requests == [], "nothing is sent to a refused address"
    async with sessions() as session:
        attempts = await DeliveryAttemptRepository(session).for_push(push.push_id)
    assert [(a.attempt, a.channel, a.outcome) for a in attempts] == [
        (1, "webhook", "rejected"),
        (1, "inbox", "inboxed"),
    ]
    page = await InboxActivities(sessions).read_inbox(InboxQuery(department_code="SQ-SPJ"))
    assert [item.push_id for item in page.items] == [push.push_id]


# https: the connection goes to the checked address, and the certificate must still name the host.


@pytest.fixture
async def trusting_client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Receiver]]:
    authority = authority_for(tmp_path, "localhost")
    receiver = Receiver([Answer(200, "ok")], tls=authority.server, host="localhost")
    async with httpx.AsyncClient(verify=authority.client, timeout=httpx.Timeout(5.0)) as http:
        yield http, receiver


async def test_https_to_a_pinned_address_checks_the_certificate_against_the_host(
    sessions: async_sessionmaker[AsyncSession],
    webhook_secret: str,
    trusting_client: tuple[httpx.AsyncClient, Receiver],
) -> None:
    http, receiver = trusting_client
    await add_department(sessions, "SQ-WJW", webhook_url=receiver.url)
    gateway = GatewayActivities(
        sessions, http, environment_secret, WebhookPolicy(allowed_hosts=frozenset({"localhost"}))
    )

    with receiver.running():
        result = await ActivityEnvironment().run(gateway.deliver_push, a_push("SQ-WJW"))

    assert result.outcome is DeliveryOutcome.DELIVERED
    [request] = receiver.requests
    assert request.headers["host"] == httpx.URL(receiver.url).netloc.decode()


async def test_https_with_a_certificate_for_another_name_is_not_delivered(
    sessions: async_sessionmaker[AsyncSession], webhook_secret: str, tmp_path: Path
) -> None:
    authority = authority_for(tmp_path, "elsewhere.example")
    receiver = Receiver([Answer(200, "ok")], tls=authority.server, host="localhost")
    await add_department(sessions, "SQ-WJW", webhook_url=receiver.url)
    policy = WebhookPolicy(allowed_hosts=frozenset({"localhost"}))

    async with httpx.AsyncClient(verify=authority.client, timeout=httpx.Timeout(5.0)) as http:
        gateway = GatewayActivities(sessions, http, environment_secret, policy)
        with receiver.running(), pytest.raises(ApplicationError) as raised:
            await ActivityEnvironment().run(gateway.deliver_push, a_push("SQ-WJW"))

    assert raised.value.type == "DeliveryFailed"
    assert "CERTIFICATE_VERIFY_FAILED" in raised.value.message
    assert receiver.requests == []


# 410 Gone: the endpoint is disabled, pushes wait in the inbox, an operator is alerted.


def _disabled_count(department: str) -> float:
    labels = {"department": department}
    return REGISTRY.get_sample_value("caseloop_webhook_endpoints_disabled_total", labels) or 0.0


async def test_410_disables_the_webhook_until_an_import_gives_a_new_url(
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    webhook_secret: str,
    settings_allow_local: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gone = DepartmentSystem(webhook_secret, [Answer(410, "this endpoint was retired")])
    successor = DepartmentSystem(webhook_secret, [Answer(200, "ok")])
    await import_registry(sessions, [registry_file(tmp_path, gone.receiver.url)])
    first, second, third, fourth = (a_push("SQ-SCJGJ") for _ in range(4))
    disabled_before = _disabled_count("SQ-SCJGJ")

    async with httpx.AsyncClient() as http:
        gateway = GatewayActivities(sessions, http, environment_secret)
        with gone.receiver.running(), successor.receiver.running():
            with caplog.at_level(logging.ERROR), pytest.raises(ApplicationError) as raised:
                await ActivityEnvironment().run(gateway.deliver_push, first)
            later = await ActivityEnvironment().run(gateway.deliver_push, second)
            # The same files again change nothing: the endpoint stays disabled.
            await import_registry(sessions, [registry_file(tmp_path, gone.receiver.url)])
            still = await ActivityEnvironment().run(gateway.deliver_push, third)
            await import_registry(sessions, [registry_file(tmp_path, successor.receiver.url)])
            renewed = await ActivityEnvironment().run(gateway.deliver_push, fourth)

    assert (raised.value.type, raised.value.non_retryable) == ("DeliveryRejected", True)
    assert "HTTP 410" in raised.value.message and "waits in the department's inbox" in raised.value.message
    assert "retired" not in raised.value.message
    assert (later.outcome, still.outcome, renewed.outcome) == (
        DeliveryOutcome.INBOXED,
        DeliveryOutcome.INBOXED,
        DeliveryOutcome.DELIVERED,
    )
    assert len(gone.receiver.requests) == 1, "nothing more is sent to an endpoint that is gone"
    assert list(successor.stored) == [fourth.push_id]
    page = await InboxActivities(sessions).read_inbox(InboxQuery(department_code="SQ-SCJGJ"))
    assert [item.push_id for item in page.items] == [first.push_id, second.push_id, third.push_id]
    assert _disabled_count("SQ-SCJGJ") - disabled_before == 1, "the endpoint is counted once"
    assert any("410 Gone" in record.getMessage() and record.levelno == logging.ERROR for record in caplog.records)
    async with sessions() as session:
        department = await session.get(Department, "SQ-SCJGJ")
    assert department is not None and department.webhook_disabled_at is not None
    assert SECRET_REF == department.secret_ref


async def test_an_operator_enables_a_webhook_again_once_the_departments_system_is_back_at_its_url(
    sessions: async_sessionmaker[AsyncSession],
    store_url: str,
    tmp_path: Path,
    webhook_secret: str,
    settings_allow_local: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    back = DepartmentSystem(webhook_secret, [Answer(410, "retired for maintenance"), Answer(200, "ok")])
    await import_registry(sessions, [registry_file(tmp_path, back.receiver.url)])
    gone, waiting, delivered = (a_push("SQ-SCJGJ") for _ in range(3))
    monkeypatch.setenv("CASELOOP_STORE_URL", store_url)
    get_settings.cache_clear()

    async with httpx.AsyncClient() as http:
        gateway = GatewayActivities(sessions, http, environment_secret)
        with back.receiver.running():
            with pytest.raises(ApplicationError):
                await ActivityEnvironment().run(gateway.deliver_push, gone)
            inboxed = await ActivityEnvironment().run(gateway.deliver_push, waiting)
            assert await asyncio.to_thread(main, ["registry", "enable-webhook", "SQ-SCJGJ"]) == 0
            sent = await ActivityEnvironment().run(gateway.deliver_push, delivered)

    assert capsys.readouterr().out == "SQ-SCJGJ: webhook enabled\n"
    assert (inboxed.outcome, sent.outcome) == (DeliveryOutcome.INBOXED, DeliveryOutcome.DELIVERED)
    assert [request.status for request in back.receiver.requests] == [410, 200]
    assert list(back.stored) == [delivered.push_id]
    page = await InboxActivities(sessions).read_inbox(InboxQuery(department_code="SQ-SCJGJ"))
    assert [item.push_id for item in page.items] == [gone.push_id, waiting.push_id], "the inbox keeps its pushes"

    assert await asyncio.to_thread(main, ["registry", "enable-webhook", "SQ-SCJGJ"]) == 0
    assert capsys.readouterr().out == "SQ-SCJGJ: webhook was not disabled; nothing changed\n"
    assert await asyncio.to_thread(main, ["registry", "enable-webhook", "SQ-NOWHERE"]) == EXIT_NOT_FOUND
    assert "SQ-NOWHERE does not exist" in capsys.readouterr().err
    assert await asyncio.to_thread(main, ["registry", "enable-webhook", "X" * 65]) == EXIT_REJECTED
