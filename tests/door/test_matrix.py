"""One matrix from one access decision: list, count, get and every case command, for every party of a case and an
outsider, in every role the command may ever be sent in (and one it may not).

Expected: a role no command of that kind takes is 403 for anyone; an outsider gets 404 for everything; a party in
a role it does not hold gets 403; a party in a role it holds passes the access decision, so it gets 200, or 422
when the case's own rules refuse the command at this stage. The case stays in play: commands whose success would
change who holds what (reroutes) are sent in a form the case refuses after the access decision.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx

from schemas.api import CaseActingRole
from schemas.case.commands import CASE_COMMANDS
from tests.door.conftest import COORDINATOR, INITIATOR, LEAD, LOCALITY, OUTSIDER, SUPERVISOR, DoorWorld
from tests.door.test_cases import launched
from tests.support.department_world import eventually
from workers.door.access import CASE_GRANTS

DEPARTMENTS = (INITIATOR, COORDINATOR, SUPERVISOR, LEAD, LOCALITY, OUTSIDER)
HELD: dict[str, set[str]] = {
    INITIATOR: {"requester", "initiator"},
    COORDINATOR: {"coordinator"},
    SUPERVISOR: {"supervisor"},
    LEAD: {"lead"},
    LOCALITY: {"locality"},
    OUTSIDER: set(),
}
LIMIT = {"amount": 5, "unit": "working-days"}
BODIES: dict[str, dict[str, Any]] = {
    "accept": {},
    "reject": {"reason": "out of scope"},
    "sign": {},
    "request-return": {"reason": "not ours", "legal_basis": "三定方案"},
    "reroute": {"department": LEAD, "to_department": "SQ-NOWHERE", "reason": "wrong unit"},
    "rule-on-return": {"department": LEAD, "ruling": "uphold", "reason": "it is yours"},
    "commit": {"limit": LIMIT, "plan": "疏通管線"},
    "cosign-commitment": {},
    "decide-commitment": {"decision": "accept"},
    "report-progress": {"summary": "進行中", "percent_done": 10},
    "request-extension": {"amount": 2, "reason": "weather"},
    "decide-extension": {"approve": True},
    "suspend": {"reason": "waiting on the court"},
    "resume": {"reason": "the court ruled"},
    "submit-closing-report": {"result": "done", "evidence": ["photo-1"]},
    "cosign-closing-report": {},
    "review": {"verdict": "pass"},
    "rate-follow-up": {"rating": "satisfied"},
    "write-off": {},
    "reopen": {"reason": "it recurred"},
    "issue-supervision-order": {"department": LEAD, "content": "限期辦結", "reason": "群眾反映"},
    "receive-supervision-order": {"order_id": "o1"},
    "answer-supervision-order": {"order_id": "o1", "answer": "已辦"},
    "lift-supervision-order": {"order_id": "o1", "reason": "answered"},
    "comment": {"text": "備註"},
    "revoke-card": {"card_id": "no-such-card", "reason": "appeal upheld"},
    "request-joint-meeting": {"reason": "部門無法解決的重大問題"},
    "record-meeting-outcome": {"meeting_id": "m1", "outcome": "會議議定限期辦結"},
    "verify-fact": {"item": "MZ-HYDJ", "question": {"id_number": "320000199001011234"}},  # no grant: 422
    "terminate": {"reason": "merged"},  # last: it ends the case
}


# An order went to the lead: only the lead's department receives and answers it, and only as the lead.
ADDRESSED = {"receive-supervision-order", "answer-supervision-order"}


def shows(case_id: str, party: bool, listed: set[str]) -> bool:
    return (case_id in listed) == party


def expected(department: str, verb: str, role: str) -> set[int]:
    if role not in CASE_GRANTS[verb.replace("-", "_")]:
        return {403}
    if department == OUTSIDER:
        return {404}
    if role not in HELD[department]:
        return {403}
    if verb in ADDRESSED and department != LEAD:
        return {403}  # the order went to the lead: it is no other party's to receive or answer
    return {200, 422}


async def test_list_count_get_and_every_command_for_every_role(door_world: DoorWorld) -> None:
    assert set(BODIES) == set(CASE_COMMANDS)
    case_id = await launched(door_world)

    async def listing(client: httpx.AsyncClient) -> set[str]:
        answer = await client.get("/v1/cases", params={"matter": door_world.matter, "limit": 1000})
        return {item["case_id"] for item in answer.json()["items"]}

    for department in DEPARTMENTS:
        client = door_world.client(department)
        party = department != OUTSIDER
        assert (await client.get(f"/v1/cases/{case_id}")).status_code == (200 if party else 404), department
        assert (await client.get(f"/v1/cases/{case_id}/timeline")).status_code == (200 if party else 404)
        listed = await eventually(functools.partial(listing, client), functools.partial(shows, case_id, party))
        assert (case_id in listed) == party, department
        counted = await client.get("/v1/cases/count", params={"matter": door_world.matter})
        assert counted.status_code == 200
        assert (counted.json()["count"] >= 1) == party, department

    seen: list[tuple[str, str, str, int]] = []
    for verb, body in BODIES.items():
        granted = sorted(CASE_GRANTS[verb.replace("-", "_")])
        refused_role = next((role for role in CaseActingRole if role not in granted), None)
        for department in DEPARTMENTS:
            roles = [*granted, refused_role] if refused_role is not None else granted
            for role in roles:
                answer = await door_world.client(department).post(
                    f"/v1/cases/{case_id}/{verb}", json={**body, "role": role}
                )
                seen.append((verb, department, role, answer.status_code))
                assert answer.status_code in expected(department, verb, role), (verb, department, role, answer.text)
    # The holders got through the access decision at least once per command kind they hold.
    passed = {(verb, department) for verb, department, _role, status in seen if status == 200}
    assert (("comment", COORDINATOR) in passed) and (("sign", LEAD) in passed) and (("sign", LOCALITY) in passed)
