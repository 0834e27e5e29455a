"""The seed's scenarios, played through the SDK and the front door so a newcomer sees real cases and hand-offs in
the Temporal UI. Each department acts with its own credential (the development keys `caseloop up` issues), so the
door checks every role as it would a city's systems.

They follow Suqian's 2021 press release (`seed/suqian-press-release-2021-06-15.txt`) on the sample registry
that `caseloop up` loads: the development and reform commission's "launch, commit, supervise, close" loop for
problems blocking major projects (the Hengli functional fibre project's tail-water pipeline and land listing,
the Tongkun differentiated fibre project's land, the Shenghong new materials project's wharf approval), and the
approval–supervision linkage (a public-place health licence pushed to the health commission and its finding
pushed back; a labour dispatch licence of Siyang's "inverted approval" pushed to the county's labour bureau).
Then the channels feed it (docs/intake.md): a 12345 work order about a blocked construction road, a bad rating
of a licence service, a 不好辦 window record and a prepaid-card claim against a gym that closed; each becomes a
case, and once the coordinator accepts it the requester's SMS shows in the worker's log (numbers masked).

Playing is idempotent: case numbers, event references and command ids are fixed, so a second run finds every
case and hand-off where the first one left it and creates nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeVar

from pydantic import BaseModel

from caseloop.errors import CommandError, Forbidden, InputRejected
from caseloop.sdk.cases import CaseHandle
from caseloop.sdk.client import CaseClient
from caseloop.sdk.handoffs import HandoffHandle
from schemas.case.stages import CaseStage, Priority
from schemas.handoff import FindingKind, HandoffStage, HandoffView
from schemas.intake_api import (
    BadRating,
    ChannelRecord,
    HotlineWorkOrder,
    HourClass,
    PrepaidCardComplaint,
    PrepaidClaimKind,
    RequesterContact,
    WindowRecord,
)
from schemas.ledger import RatingLevel
from schemas.registry import TriggerEvent

T = TypeVar("T")

# Sample registry codes (activities/registry/suqian.yaml).
DRC = "SQ-FGW"  # 發展和改革委員會: raises project problems, its system is the cases' initiator
BUSINESS_OFFICE = "SQ-YSB"  # 優化營商環境辦公室: coordinates
SUPERVISION_OFFICE = "SQ-DCS"  # 督查室: supervises
APPROVAL_BUREAU = "SQ-SPJ"  # 行政審批局
HOUSING = "SQ-ZJJ"  # 住房和城鄉建設局
NATURAL_RESOURCES = "SQ-ZRZYJ"  # 自然資源和規劃局
HEALTH_COMMISSION = "SQ-WJW"  # 衛生健康委員會
SUCHENG = "SQ-SCQ"  # 宿城區
SUYU = "SQ-SYQ"  # 宿豫區
SIYANG = "SQ-SIY"  # 泗陽縣
PROJECT_PROCEDURES = "SQ-XM-SPSX"  # 重大項目前期審批手續問題: lead 審批局, with 住建局 and 自然資源局
PROJECT_LAND = "SQ-XM-YDBZ"  # 重大項目用地保障問題: lead 自然資源局
HOTLINE = "SQ-12345"  # 12345熱線: feeds channel 12345
RATINGS = "SQ-HCP"  # 好差評系統: feeds channel HCP
PREPAID_PLATFORM = "SQ-YFK"  # 預付卡監管平台: feeds channel YFK

WAIT = 60.0  # seconds a scenario waits for a push or a registration before it gives up
UNPUSHED = frozenset({HandoffStage.CREATED, HandoffStage.DELIVERY_FAILED})
UNCLAIMED = UNPUSHED | {HandoffStage.PUSHED}


class Departments:
    """One client per department, each with that department's key, connected at its first use."""

    def __init__(self, url: str, keys: Mapping[str, str], *, within: float | None = 60.0) -> None:
        self._url = url
        self._keys = dict(keys)
        self._within = within
        self._clients: dict[str, CaseClient] = {}

    async def __call__(self, department: str) -> CaseClient:
        if department not in self._clients:
            if department not in self._keys:
                raise Forbidden(f"the demo has no key for {department}; `caseloop up` issues one per department")
            self._clients[department] = await CaseClient.connect(self._url, self._keys[department], within=self._within)
        return self._clients[department]

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()


class Played(BaseModel):
    """What a scenario left: one case or hand-off, its stage, and what it is about."""

    kind: str
    workflow_id: str
    stage: str
    about: str


async def play(client: Departments) -> list[Played]:
    """Plays every scenario in order, each department with its own client; safe to run again."""
    played: list[Played] = []
    for scenario in (
        hengli_tail_water_pipeline,
        hengli_land_listing,
        tongkun_land,
        shenghong_wharf,
        health_licence_double_loop,
        siyang_labour_dispatch,
        channel_cases,
    ):
        played += await scenario(client)
    return played


# Cases: 啟動、承諾、督辦、報結.


async def hengli_tail_water_pipeline(departments: Departments) -> list[Played]:
    """恒力功能性纖維項目尾水管線施工: launched to the approval bureau, housing, natural resources and the district;
    all sign, the lead commits 15 working days, the district co-signs, the coordinator accepts; work is under way."""
    about = "恒力功能性纖維項目尾水管線施工 (tail-water pipeline of the Hengli fibre project)"
    case = await _launch(departments, "XM-2021-0417", PROJECT_PROCEDURES, SUCHENG, about)
    once = _Once(case.case_id)
    coordinator = await _party(departments, case, BUSINESS_OFFICE, "coordinator")
    lead = await _party(departments, case, APPROVAL_BUREAU, "lead")
    locality = await _party(departments, case, SUCHENG, "locality")
    await once(coordinator.accept(command_id=once.id("accept")))
    await once(lead.sign(command_id=once.id(f"sign-lead:{APPROVAL_BUREAU}")))
    for co_unit in (HOUSING, NATURAL_RESOURCES):
        signer = await _party(departments, case, co_unit, "co_unit")
        await once(signer.sign(command_id=once.id(f"sign-co_unit:{co_unit}")))
    await once(locality.sign(command_id=once.id("sign-locality")))
    await once(
        lead.commit(
            limit="15 working-days",
            plan="housing re-routes the pipeline along the canal road; the district clears the construction site",
            command_id=once.id("commit"),
        )
    )
    await once(locality.cosign_commitment(command_id=once.id("cosign")))
    await once(coordinator.decide_commitment(decision="accept", command_id=once.id("decide")))
    await once(
        lead.report_progress(
            summary="route approved by housing; construction permit in review",
            percent_done=40,
            command_id=once.id("progress-1"),
        )
    )
    return [await _case_played(case, about)]


async def hengli_land_listing(departments: Departments) -> list[Played]:
    """恒力項目土地掛牌調整: the whole loop, from launch to a satisfied follow-up and the write-off (銷號)."""
    about = "恒力項目土地掛牌調整 (land listing adjustment of the Hengli project)"
    case = await _launch(departments, "XM-2021-0305", PROJECT_LAND, SUCHENG, about)
    once = _Once(case.case_id)
    coordinator = await _party(departments, case, BUSINESS_OFFICE, "coordinator")
    lead = await _party(departments, case, NATURAL_RESOURCES, "lead")
    locality = await _party(departments, case, SUCHENG, "locality")
    await once(coordinator.accept(command_id=once.id("accept")))
    await once(lead.sign(command_id=once.id("sign-lead")))
    await once(locality.sign(command_id=once.id("sign-locality")))
    await once(lead.commit(limit="10 working-days", plan="re-list the plot", command_id=once.id("commit")))
    await once(locality.cosign_commitment(command_id=once.id("cosign")))
    await once(coordinator.decide_commitment(decision="accept", command_id=once.id("decide")))
    await once(
        lead.submit_closing_report(
            result="the plot was re-listed with the adjusted boundary and sold",
            evidence=["listing notice 2021-37"],
            requester_confirmed=True,
            command_id=once.id("report"),
        )
    )
    await once(locality.cosign_closing_report(command_id=once.id("cosign-report")))
    await once(coordinator.review(verdict="pass", command_id=once.id("review")))
    await once(case.rate_follow_up(actor="requester", rating=RatingLevel.VERY_SATISFIED, command_id=once.id("rate")))
    await once(coordinator.write_off(command_id=once.id("write-off")))
    return [await _case_played(case, about)]


async def tongkun_land(departments: Departments) -> list[Played]:
    """桐昆差別化纖維項目用地保障: launched; the lead signed, the district has not yet."""
    about = "桐昆差別化纖維項目用地保障 (land for the Tongkun fibre project)"
    case = await _launch(departments, "XM-2021-0522", PROJECT_LAND, SUYU, about)
    once = _Once(case.case_id)
    await once((await _party(departments, case, BUSINESS_OFFICE, "coordinator")).accept(command_id=once.id("accept")))
    await once((await _party(departments, case, NATURAL_RESOURCES, "lead")).sign(command_id=once.id("sign-lead")))
    return [await _case_played(case, about)]


async def shenghong_wharf(departments: Departments) -> list[Played]:
    """盛虹新材料項目順岸式港口碼頭審批: registered as urgent, waiting for the coordinator to accept it."""
    about = "盛虹新材料項目順岸式港口碼頭審批 (wharf approval of the Shenghong project)"
    case = await _launch(departments, "XM-2021-0601", PROJECT_PROCEDURES, SUYU, about, priority=Priority.URGENT)
    return [await _case_played(case, about)]


# Hand-offs: 雙推送、雙回路.


async def health_licence_double_loop(departments: Departments) -> list[Played]:
    """A public-place health licence granted by the approval bureau is pushed to the health commission (claimed
    on push); its inspection finds the hygiene pledge false, and the finding is pushed back to the approval
    bureau as a loop-2 hand-off, which claims it and starts acting. Loop 1 is closed; loop 2 is open."""
    about = "公共場所衛生許可 → 衛健委 (health licence pushed to its regulator, loop 1)"
    approval = await departments(APPROVAL_BUREAU)
    health = await departments(HEALTH_COMMISSION)
    report = await approval.report_event(
        reference="SQ-SP-2021-GGCSWS-0117",
        event=TriggerEvent.CASE_CLOSED,
        item_code="SP-GGCSWS",
        locality_code=SUCHENG,
        occurred_at=datetime.now(UTC),
        decision="grant",
        package={"licence_no": "宿衛公字〔2021〕第0117號", "entity": "示例浴室有限公司", "pledge": True},
    )
    [started] = report.handoffs
    loop_one = health.handoff(started.handoff_id, actor="receiver")
    once = _Once(started.handoff_id)
    await _past(loop_one, UNCLAIMED)  # its matter claims on push
    await once(loop_one.start_acting(measure="on-site check of the hygiene pledge", command_id=once.id("act")))
    await once(
        loop_one.send_feedback(
            result="the ventilation and disinfection pledged are missing",
            findings=[
                {
                    "kind": FindingKind.FALSE_PLEDGE,
                    "reference": "宿衛監〔2021〕第0042號",
                    # Fixed, as every field of a command sent again under its command id must be.
                    "decided_at": datetime(2021, 6, 18, 2, 0, tzinfo=UTC),
                    "summary": "hygiene pledge found false on site",
                }
            ],
            command_id=once.id("feedback"),
        )
    )
    originator = approval.handoff(started.handoff_id, actor="originator")
    await once(originator.acknowledge(remark="licence review opened", command_id=once.id("ack")))
    first = await loop_one.view()
    played = [_handoff_played(first, about)]
    for loop_two_id in first.loop_two:
        loop_two = approval.handoff(loop_two_id, actor="receiver")
        back = _Once(loop_two_id)
        await _past(loop_two, UNPUSHED)
        await back(loop_two.claim(command_id=back.id("claim")))
        await back(loop_two.start_acting(measure="revoke the licence", command_id=back.id("act")))
        played.append(_handoff_played(await loop_two.view(), "承諾不實 → 撤銷許可 (finding pushed back, loop 2)"))
    return played


async def siyang_labour_dispatch(departments: Departments) -> list[Played]:
    """Siyang's inverted approval (倒置審批): a labour dispatch licence granted on a credit pledge is pushed to
    the county's labour bureau, which has yet to claim it."""
    approval = await departments(APPROVAL_BUREAU)
    report = await approval.report_event(
        reference="SQ-SP-2021-LWPQ-0009",
        event=TriggerEvent.CASE_CLOSED,
        item_code="SP-LWPQ",
        locality_code=SIYANG,
        occurred_at=datetime.now(UTC),
        decision="grant",
        package={"licence_no": "泗人社派遣〔2021〕9號", "pledge": True},
    )
    played = []
    for started in report.handoffs:
        view = await _past(approval.handoff(started.handoff_id), UNPUSHED)
        about = "勞務派遣經營許可 → 泗陽縣人社局 (labour dispatch licence, inverted approval)"
        played.append(_handoff_played(view, about))
    return played


# Channels: 12345, 好差評, the 不好辦 window, prepaid cards. The phone numbers are examples, not real.


@dataclass(frozen=True)
class ChannelScenario:
    """A channel's system takes its record in; the coordinator accepts the case, which texts the requester."""

    feeder: str  # the department whose key feeds the channel
    channel: str
    record: ChannelRecord
    about: str


CHANNEL_SCENARIOS = (
    # A 12345 work order: a construction site's hoarding blocks a road.
    ChannelScenario(
        HOTLINE,
        "12345",
        HotlineWorkOrder(
            work_order_number="GD-2021-0615-001",
            category="0301",
            area_code="321302",
            address="宿城區發展大道與洪澤湖路交叉口",
            content="施工圍擋佔用整條道路,車輛無法通行,已持續一週",
            requester=RequesterContact(mobile="13800000201", consent=True),
        ),
        "12345工單:施工圍擋堵路 (a road blocked by works)",
    ),
    # A very bad 好差評 rating of the construction permit service: a rectification case for the approval bureau.
    ChannelScenario(
        RATINGS,
        "HCP",
        BadRating(
            rating_id="HCP-2021-0615-007",
            level=RatingLevel.VERY_DISSATISFIED,
            service_item="SP-SGXK",
            department=APPROVAL_BUREAU,
            area_code="321302",
            comment="施工許可材料被要求重複提交三次",
            requester=RequesterContact(mobile="13800000202", consent=True),
        ),
        "差評整改:施工許可 (a bad rating of a licence)",
    ),
    # A 不好辦 window record of a one-hour immediate item, recorded at the city's service hall.
    ChannelScenario(
        APPROVAL_BUREAU,
        "BHB",
        WindowRecord(
            record_number="BHB-2021-0615-003",
            hall="SQ-ZWFW",
            attempted="辦理個體工商戶經營場所變更",
            failed_at="系統無法核驗新經營場所地址",
            recorded_by="示例窗口人員",
            hour_class=HourClass.ONE,
            requester=RequesterContact(mobile="13800000203", consent=True),
        ),
        "不好辦窗口:即辦件1小時 (a window item)",
    ),
    # A one-click prepaid-card claim against a gym that closed: a matter for the market regulator.
    ChannelScenario(
        PREPAID_PLATFORM,
        "YFK",
        PrepaidCardComplaint(
            complaint_number="YFK-2021-0615-012",
            kind=PrepaidClaimKind.CLAIM,
            merchant="示例健身會所(已閉店)",
            merchant_address="宿城區幸福中路88號",
            card_number="6222000011118888",
            amount=Decimal("2980.00"),
            claim="健身會所閉店,要求退還卡內餘額",
            requester=RequesterContact(mobile="13800000204", consent=True),
        ),
        "預付卡一鍵維權:健身房閉店 (a closed gym's prepaid cards)",
    ),
)


async def channel_cases(departments: Departments) -> list[Played]:
    """Every channel scenario, one after another."""
    played: list[Played] = []
    for scenario in CHANNEL_SCENARIOS:
        taken = await (await departments(scenario.feeder)).take_in(scenario.channel, scenario.record)
        case = (await departments(scenario.feeder)).case_by_id(taken.case_id)
        await _poll(case.state, lambda view: view.seq > 0)
        once = _Once(case.case_id)
        coordinator = await _party(departments, case, BUSINESS_OFFICE, "coordinator")
        await once(coordinator.accept(command_id=once.id("accept")))
        played.append(await _case_played(case, scenario.about))
    return played


# Helpers.


async def _party(departments: Departments, case: CaseHandle, department: str, role: str) -> CaseHandle:
    """The case as `department` sees it, acting in `role`, with its own key."""
    return (await departments(department)).case_by_id(case.case_id, actor=role)


class _Once:
    """Fixed command ids per subject, and a command that its workflow has finished with counts as played."""

    def __init__(self, subject: str) -> None:
        self._subject = subject

    def id(self, step: str) -> str:
        return f"demo:{self._subject}:{step}".replace(" ", "_")[:100]

    async def __call__(self, command: Awaitable[T]) -> T | None:
        try:
            return await command
        except InputRejected as rejected:
            if rejected.rule == "workflow.finished":
                return None  # played to its end on an earlier run
            raise


async def _launch(
    departments: Departments,
    number: str,
    matter: str,
    locality: str,
    title: str,
    priority: Priority = Priority.NORMAL,
) -> CaseHandle:
    initiator = await departments(DRC)
    case = await initiator.launch(
        case_number=number, matter_code=matter, locality_code=locality, title=title, priority=priority
    )
    view = await _poll(case.state, lambda view: view.seq > 0)
    if view.stage is CaseStage.REJECTED and view.lead_department is None:
        raise CommandError(
            f"the registry could not place {case.case_id} (matter {matter}, locality {locality}): the demo needs the "
            "sample registry, which `caseloop up` loads into a fresh store (or: caseloop registry import FILE)"
        )
    return case


async def _case_played(case: CaseHandle, about: str) -> Played:
    view = await case.state()
    return Played(kind="case", workflow_id=case.case_id, stage=view.stage.value, about=about)


def _handoff_played(view: HandoffView, about: str) -> Played:
    return Played(kind="hand-off", workflow_id=view.handoff_id, stage=view.stage.value, about=about)


async def _past(handoff: HandoffHandle, stages: frozenset[HandoffStage]) -> HandoffView:
    """The hand-off once it has left `stages`: its push goes out in the background."""
    return await _poll(handoff.view, lambda view: view.stage not in stages)


async def _poll(read: Callable[[], Awaitable[T]], done: Callable[[T], bool]) -> T:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    value = await read()
    while not done(value):
        if loop.time() > deadline:
            raise CommandError(f"the demo waited {WAIT:g}s for {value!r:.200}; is a worker running?")
        await asyncio.sleep(0.2)
        value = await read()
    return value
