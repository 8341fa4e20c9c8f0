"""Coupon storms over HTTP against two server processes sharing one Redis: the quota, the
packets and a coupon paid with on many holds at once hold however the requests are spread."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis

from stockkeeper.settings import StockSettings

from .helpers import HOST, serve_processes, viewer

ROOM = "coupon-storm"


async def post(session: aiohttp.ClientSession, url: str, body: Any, who: Any) -> tuple[int, Any]:
    async with session.post(url, json=body, headers=who) as resp:
        return resp.status, await resp.json()


async def ok(session: aiohttp.ClientSession, url: str, body: Any = None, who: Any = HOST) -> Any:
    status, answer = await post(session, url, body or {}, who)
    assert status < 300, answer
    return answer


async def test_storms_over_two_processes_claim_exactly_the_quota_and_the_pool(
    stock_settings: StockSettings, redis: Redis, tmp_path: Path
) -> None:
    connector = aiohttp.TCPConnector(limit=200)
    with serve_processes(stock_settings, tmp_path) as servers:
        async with aiohttp.ClientSession(connector=connector) as session:
            one = servers[0]
            product = {"sku": "MUG", "title": "Mug", "unit_price": 2000, "currency": "EUR"}
            product |= {"stock": 400, "per_user_limit": 400, "countdown_seconds": 0}
            show = {"room_id": ROOM, "title": "Storm", "products": [product]}
            offer_id = (await ok(session, f"{one}/api/shows", show))["offers"][0]["id"]
            await ok(session, f"{one}/api/shows/{ROOM}/live")
            await ok(session, f"{one}/api/shows/{ROOM}/offers/{offer_id}/launch")
            drops = f"{one}/api/shows/{ROOM}/coupon-drops"
            drop = await ok(session, drops, {"title": "Five off", "amount_off": 500, "quota": 100})
            await ok(session, f"{drops}/{drop['drop_id']}/start")
            rains = f"{one}/api/shows/{ROOM}/red-packet-rains"
            rain = await ok(session, rains, {"title": "Rain", "pool": 99_991, "packets": 500})
            await ok(session, f"{rains}/{rain['rain_id']}/start")

            async def tap(n: int, what: str) -> tuple[int, Any]:
                base = servers[n % 2]
                path = (
                    f"coupon-drops/{drop['drop_id']}/claim"
                    if what == "claim"
                    else f"red-packet-rains/{rain['rain_id']}/grab"
                )
                body = {"idempotency_key": f"tap-{what}-{n:05d}"}
                return await post(session, f"{base}/api/rooms/{ROOM}/{path}", body, viewer(f"v{n}"))

            claims = await asyncio.gather(*(tap(n, "claim") for n in range(2000)))
            coupons = [answer["coupon_id"] for status, answer in claims if status == 200]
            assert len(coupons) == 100 == len(set(coupons))
            refused = {answer["error"]["code"] for status, answer in claims if status != 200}
            assert refused == {"drop_exhausted"}

            grabs = await asyncio.gather(*(tap(n, "grab") for n in range(2000)))
            packets = [answer for status, answer in grabs if status == 200]
            assert len(packets) == 500 == len({p["packet_id"] for p in packets})
            assert sum(p["amount"] for p in packets) == 99_991

            # 300 holds of the coupon's owner paid at once on both servers with that coupon.
            owner = next(f"v{n}" for n, (s, _) in enumerate(claims) if s == 200)
            coupon = next(a["coupon_id"] for s, a in claims if s == 200)
            presses = [
                ok(
                    session,
                    f"{servers[n % 2]}/api/offers/{offer_id}/reservations",
                    {"idempotency_key": f"press-{n:05d}"},
                    viewer(owner),
                )
                for n in range(300)
            ]
            holds = [answer["hold"]["hold_id"] for answer in await asyncio.gather(*presses)]
            payments = await asyncio.gather(
                *(
                    post(
                        session,
                        f"{servers[n % 2]}/api/holds/{hold_id}/confirm",
                        {"payment_ref": f"psp-{n}", "coupon_id": coupon},
                        viewer(owner),
                    )
                    for n, hold_id in enumerate(holds)
                )
            )
            paid = [answer for status, answer in payments if status == 200]
            assert len(paid) == 1
            assert (paid[0]["discount"], paid[0]["amount"]) == (500, 1500)
            codes = {answer["error"]["code"] for status, answer in payments if status != 200}
            assert codes <= {"coupon_in_use", "coupon_used"}
            listed = await (await session.get(drops, headers=HOST)).json()
            assert (listed["drops"][0]["spent"], listed["drops"][0]["spent_amount"]) == (1, 500)
