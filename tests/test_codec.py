"""Payload encryption: with a key, Temporal's history holds ciphertext only, the worker still runs cases, and keys
rotate without losing a case; production refuses what it must not run with."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.store.migrate import upgrade
from caseloop.direct import CaseClient  # the trusted in-cluster transport: it holds the payload key
from caseloop.direct.case_start import start_case
from schemas.case import commands as c
from schemas.case.stages import AssignmentStatus, CaseStage
from schemas.case.views import CaseQuery
from services.registry.importer import import_registry
from tests.case.driver import coordinator, lead
from tests.case.parties import LEAD, registration
from tests.support.department_world import sample_store, target_of
from tests.support.embedded_stack import stack_environment
from workers.codec import (
    ENCODING,
    KEY_ID_METADATA,
    REFUSED_ENCODING,
    EncryptionCodec,
    Keyring,
    PayloadRefused,
    derived_key_id,
)
from workers.codec import data_converter as project_converter
from workers.resources import open_resources
from workers.settings import Settings
from workers.worker import build_worker
from workflows.case.workflow import CaseWorkflow

CASE_REGISTRY = Path(__file__).parent / "case" / "registry.yaml"


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


async def test_history_holds_only_ciphertext(dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    store_url = await sample_store(tmp_path)
    marker = f"marker-{uuid.uuid4().hex}"  # stands for the personal data a case title may hold
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, temporal_target=target_of(dev_env), encryption_key=key, task_queue=task_queue
    )
    secret = registration(
        system="SQ-FGW",
        case_number="XM-SECRET-1",
        matter_code="SQ-XM-SPSX",
        locality_code="SQ-SCQ",
        title=marker,
        coordinator="SQ-YSB",
        supervisors=[],
    )
    async with (
        await CaseClient.connect(settings) as client,
        open_resources(Settings(store_url=store_url, encryption_key=key)) as resources,
    ):
        async with build_worker(client.temporal, resources, task_queue):
            view = await (await client.start(secret)).handle.state()
    assert view.stage is CaseStage.REGISTERED
    plain = Client(dev_env.client.service_client, namespace=dev_env.client.namespace)
    history = await plain.get_workflow_handle(view.case_id).fetch_history()
    assert marker not in history.to_json(), "the title never reaches Temporal in clear"
    started = history.events[0].workflow_execution_started_event_attributes
    assert started.input.payloads[0].metadata["encoding"] == ENCODING


@pytest.mark.parametrize(
    ("key", "rule"),
    [("not base64!", "must be base64"), (base64.b64encode(b"short").decode(), "must decode to 32 bytes")],
)
def test_a_bad_key_is_refused_at_startup(key: str, rule: str) -> None:
    with pytest.raises(ValidationError, match=rule) as raised:
        Settings(encryption_key=key)
    assert "encryption_key" in str(raised.value)


def test_a_bad_keyring_is_refused_without_showing_a_key() -> None:
    good = new_key()
    for bad, rule in [
        (f"k1:{good},k1:{new_key()}", "appears twice"),
        (f"k 1:{good}", "id:base64"),
        ("k1:c2hvcnQ=", "must decode to 32 bytes"),
        (f"k1:{good},k2:!!", "the key k2 must be base64"),
    ]:
        with pytest.raises(ValidationError, match=rule) as raised:
            Settings(_env_file=None, encryption_keys=bad)  # type: ignore[call-arg]
        assert good not in str(raised.value)
    with pytest.raises(ValidationError, match="not both"):
        Settings(_env_file=None, encryption_key=good, encryption_keys=f"k1:{good}")  # type: ignore[call-arg]


def _json_payload(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=text.encode())


async def test_keys_rotate_and_every_payload_names_its_key() -> None:
    k1, k2 = new_key(), new_key()
    before = EncryptionCodec(Keyring.parse(f"k1:{k1}"))
    after = EncryptionCodec(Keyring.parse(f"k2:{k2},k1:{k1}"))
    [old] = await before.encode([_json_payload('"under k1"')])
    [new] = await after.encode([_json_payload('"under k2"')])
    assert old.metadata[KEY_ID_METADATA] == b"k1" and new.metadata[KEY_ID_METADATA] == b"k2", "the first key encodes"
    assert [p.data for p in await after.decode([old, new])] == [b'"under k1"', b'"under k2"']

    with pytest.raises(PayloadRefused, match=r"key id 'k2', which is not among the configured keys \(k1\)"):
        await before.decode([new])
    forged = Payload(metadata=dict(old.metadata), data=old.data)
    forged.metadata[KEY_ID_METADATA] = b"k2"
    with pytest.raises(PayloadRefused, match="does not decrypt with the key configured under that id"):
        await after.decode([forged])


async def test_a_single_key_keeps_decoding_once_listed_among_rotated_keys() -> None:
    old_key, new = new_key(), new_key()
    single = EncryptionCodec(Keyring.single(old_key))  # CASELOOP_ENCRYPTION_KEY, as written before rotation
    [written] = await single.encode([_json_payload('"before rotation"')])
    assert written.metadata[KEY_ID_METADATA] == derived_key_id(base64.b64decode(old_key)).encode()
    rotated = EncryptionCodec(Keyring.parse(f"k2:{new},k1:{old_key}"))
    assert [p.data for p in await rotated.decode([written])] == [b'"before rotation"']
    unnamed = EncryptionCodec(Keyring.parse(f"k2:{new},{old_key}"))  # listed without an id: its derived one
    assert [p.data for p in await unnamed.decode([written])] == [b'"before rotation"']


async def test_production_refuses_to_decode_payloads_in_clear() -> None:
    key = f"k1:{new_key()}"
    clear = _json_payload('"written without the key"')
    assert await EncryptionCodec(Keyring.parse(key)).decode([clear]) == [clear], "development reads old payloads"
    settings = Settings.model_validate(_production() | {"encryption_key": None, "encryption_keys": key})
    converter = project_converter(settings.payload_keyring(), refuse_plaintext=settings.refuse_plaintext_payloads)
    assert converter.payload_codec is not None
    [refused] = await converter.payload_codec.decode([clear])
    assert refused.metadata["encoding"] == REFUSED_ENCODING and not refused.data, "nothing of it is passed on"
    with pytest.raises(Exception, match="Unknown payload encoding binary/unencrypted-refused-in-production"):
        await converter.decode([clear], [str])


def _production() -> dict[str, Any]:
    """Settings production accepts; each test takes one part away."""
    return {
        "environment": "production",
        "store_url": "postgresql+asyncpg://db/caseloop",
        "log_format": "json",
        "api_key_peppers": "p0:" + base64.b64encode(os.urandom(32)).decode(),
        "encryption_key": new_key(),
        "temporal_api_key": "a-token-of-the-city-idp",
        "sms_provider": "http",
        "sms_url": "https://sms.example/send",
    }


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"encryption_key": None}, "encryption_key .or encryption_keys. must be set in production"),
        ({"temporal_api_key": None}, "production reaches Temporal over TLS"),
        ({"sms_provider": "logging"}, "sms_provider=logging only writes text messages to the log"),
        ({"store_url": "sqlite+aiosqlite:///data/caseloop.db"}, "must name a PostgreSQL database"),
        ({"store_url": "mysql+aiomysql://db/caseloop"}, "must name a PostgreSQL database"),
    ],
)
def test_production_refuses_to_start_without_its_protections(change: dict[str, Any], refusal: str) -> None:
    assert Settings.model_validate(_production()).payload_keyring() is not None
    with pytest.raises(ValidationError, match=refusal):
        Settings.model_validate(_production() | change)
    tls_instead = _production() | {"temporal_api_key": None, "temporal_tls": True}
    assert Settings.model_validate(tls_instead).temporal_tls


def test_up_refuses_production(tmp_path: Path) -> None:
    env = stack_environment(tmp_path / "data") | {"CASELOOP_ENVIRONMENT": "production"}
    result = subprocess.run(
        [sys.executable, "-m", "caseloop.cli", "up"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    assert "caseloop up is the embedded stack for one machine" in result.stderr
    assert "refuses production" in result.stderr
    assert not (tmp_path / "data").exists(), "nothing was started"


def _key_ids(history: WorkflowHistory) -> list[tuple[str, str]]:
    """(event, key id) for the case's start and every update it accepted."""
    found = []
    for event in history.events:
        if event.HasField("workflow_execution_started_event_attributes"):
            payload = event.workflow_execution_started_event_attributes.input.payloads[0]
            found.append(("started", payload.metadata[KEY_ID_METADATA].decode()))
        if event.HasField("workflow_execution_update_accepted_event_attributes"):
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
            payload = request.input.args.payloads[0]
            found.append((request.input.name, payload.metadata[KEY_ID_METADATA].decode()))
    return found


async def test_a_case_started_under_k1_continues_after_the_worker_restarts_with_k2_k1(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    k1, k2 = new_key(), new_key()
    store_url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    await upgrade(store_url)

    def under(keys: str) -> tuple[Settings, Client]:
        settings = Settings(_env_file=None, store_url=store_url, task_queue=task_queue, encryption_keys=keys)  # type: ignore[call-arg]
        converter = project_converter(settings.payload_keyring())
        return settings, Client(dev_env.client.service_client, namespace="default", data_converter=converter)

    settings, client = under(f"k1:{k1}")
    async with open_resources(settings) as resources:
        await import_registry(resources.sessions, [CASE_REGISTRY])
        async with build_worker(client, resources, task_queue):
            handle = await start_case(client, registration(case_number=uuid.uuid4().hex[:12]), task_queue=task_queue)
            await handle.execute_update(CaseWorkflow.accept, c.AcceptCase(actor=coordinator))
            assert (await handle.query(CaseWorkflow.state, CaseQuery())).stage is CaseStage.LAUNCHED

    # The worker restarts with a new key in front; its fresh cache replays the history written under k1.
    settings, client = under(f"k2:{k2},k1:{k1}")
    async with open_resources(settings) as resources:
        async with build_worker(client, resources, task_queue):
            rotated = client.get_workflow_handle_for(CaseWorkflow.run, handle.id)
            await rotated.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=lead))
            view = await rotated.query(CaseWorkflow.state, CaseQuery())
            await rotated.terminate("the test is over")
    assert [a.status for a in view.assignments if a.department == LEAD] == [AssignmentStatus.SIGNED]
    plain = Client(dev_env.client.service_client, namespace="default")
    history = await plain.get_workflow_handle(handle.id).fetch_history()
    assert _key_ids(history) == [("started", "k1"), ("accept", "k1"), ("sign", "k2")]


async def test_in_production_a_clear_update_is_rejected_and_the_case_carries_on(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    """Someone who goes around the door (the Temporal CLI, a client without the key) sends an update in clear: the
    production worker refuses to read it, the update is rejected, and no workflow task fails."""
    store_url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    await upgrade(store_url)
    production = Settings.model_validate(_production())  # its converter; the store here is SQLite
    converter = project_converter(production.payload_keyring(), refuse_plaintext=production.refuse_plaintext_payloads)
    settings = Settings(_env_file=None, store_url=store_url, task_queue=task_queue)  # type: ignore[call-arg]
    client = Client(dev_env.client.service_client, namespace="default", data_converter=converter)
    around = Client(dev_env.client.service_client, namespace="default", data_converter=pydantic_data_converter)
    async with open_resources(settings) as resources:
        await import_registry(resources.sessions, [CASE_REGISTRY])
        async with build_worker(client, resources, task_queue):
            handle = await start_case(client, registration(case_number=uuid.uuid4().hex[:12]), task_queue=task_queue)
            await handle.execute_update(CaseWorkflow.accept, c.AcceptCase(actor=coordinator))
            forged = around.get_workflow_handle_for(CaseWorkflow.run, handle.id)
            with pytest.raises(WorkflowUpdateFailedError):
                await forged.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=lead))
            await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=lead))
            view = await handle.query(CaseWorkflow.state, CaseQuery())
            await handle.terminate("the test is over")
    assert [a.status for a in view.assignments if a.department == LEAD] == [AssignmentStatus.SIGNED]
    history = await around.get_workflow_handle(handle.id).fetch_history()
    assert not [e for e in history.events if e.HasField("workflow_task_failed_event_attributes")]
    assert [name for name, _ in _key_ids(history)] == ["started", "accept", "sign"], "the forged sign left no trace"
