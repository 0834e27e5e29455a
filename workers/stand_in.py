"""The sample's price collectors, standing in on the embedded stack: the development and reform commission's system
delivers the day's farm-product prices (registry entry `FGW-NCP-JG`) through the front door each day it is expected,
so the demo's deliverer is not carded, and then circulated, every working day nobody delivers.

It acts as any department system does: with the commission's development key, `POST /v1/deliveries/{code}/{day}`,
the day as the Idempotency-Key, so a second try (a restart, the next round) answers the first delivery. `caseloop up`
runs it (`workers.stack`); production never does (the department's own system delivers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

import httpx
import structlog

log = structlog.get_logger(__name__)

PRICES = "FGW-NCP-JG"  # 87種農產品日均零售價格(8個市場), the sample registry's daily delivery
COLLECTORS = "SQ-FGW"  # 發改委's price collectors deliver it
SHANGHAI = ZoneInfo("Asia/Shanghai")
ROUND_SECONDS = 300.0  # how often it looks for the day's expectation (opened at 00:05)

MARKETS = (
    "宿城農貿市場",
    "宿豫農貿市場",
    "沭陽農貿市場",
    "泗陽農貿市場",
    "泗洪農貿市場",
    "洋河農貿市場",
    "湖濱農貿市場",
    "經開區農貿市場",
)
PRODUCTS = ("大白菜", "青菜", "土豆", "西紅柿", "黃瓜", "豬肉", "雞蛋", "大米", "麵粉", "豆油", "蘋果", "草魚")


class Outcome(StrEnum):
    DELIVERED = "delivered"  # taken (or taken on an earlier try)
    CLOSED = "closed"  # nothing is expected that day (a holiday, a weekend), or the day has closed
    NOT_OPENED = "not_opened"  # the day's expectation is not open yet: try again later
    FAILED = "failed"  # the door refused or did not answer: try again later


def sample_prices(day: date) -> list[dict[str, str]]:
    """The day's sample records, one per product and market: made-up prices that vary a little by day."""
    return [
        {"market": market, "product": product, "price": f"{1.5 + (m * 7 + p * 3 + day.toordinal()) % 40 / 10:.2f}"}
        for m, market in enumerate(MARKETS)
        for p, product in enumerate(PRODUCTS)
    ]


async def deliver_prices(http: httpx.AsyncClient, day: date) -> Outcome:
    """One try at the day's delivery; `http` holds the door's URL and the collectors' key."""
    try:
        answer = await http.post(
            f"/v1/deliveries/{PRICES}/{day.isoformat()}",
            json={"records": sample_prices(day)},
            headers={"Idempotency-Key": f"stand-in.{PRICES}.{day.isoformat()}"},
        )
    except httpx.HTTPError as error:
        log.warning("stand-in price delivery not sent", day=str(day), error=type(error).__name__)
        return Outcome.FAILED
    if answer.status_code == 200:
        return Outcome.DELIVERED
    if answer.status_code == 404:
        return Outcome.NOT_OPENED
    if answer.status_code == 422:
        return Outcome.CLOSED
    log.warning("stand-in price delivery refused", day=str(day), status=answer.status_code, body=answer.text[:300])
    return Outcome.FAILED


async def run_price_collectors(
    url: str,
    key: str,
    stop: asyncio.Event,
    *,
    today: Callable[[], date] = lambda: datetime.now(SHANGHAI).date(),
    pause: float = ROUND_SECONDS,
) -> None:
    """Delivers each day's prices once, until `stop` is set: a round every `pause` seconds."""
    done: date | None = None
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        while not stop.is_set():
            day = today()
            if day != done:
                outcome = await deliver_prices(http, day)
                if outcome in (Outcome.DELIVERED, Outcome.CLOSED):
                    log.info("stand-in price collectors", day=str(day), outcome=outcome.value)
                    done = day
            try:
                await asyncio.wait_for(stop.wait(), timeout=pause)
            except TimeoutError:
                pass
